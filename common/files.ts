// Files written whole or not at all: through a temp file beside the target, then renamed over it, so a crash
// or a full disk never leaves half a file where a later start would read it.
import fs from 'node:fs';
import path from 'node:path';

export function writeFileAtomic(file: string, data: string | Uint8Array | readonly Uint8Array[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, typeof data === 'string' || data instanceof Uint8Array ? data : Buffer.concat(data));
  fs.renameSync(tmp, file);
}
