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

/**
 * writeFileAtomic off the event loop: the write, an fsync (so the rename never lands before the data) and the
 * rename run on libuv's thread pool; only encoding a string happens here. The temp file is removed on failure.
 */
export async function writeFileAtomicAsync(file: string, data: string | Uint8Array | readonly Uint8Array[]): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    const fh = await fs.promises.open(tmp, 'w');
    try {
      // Chunks one after another: no Buffer.concat of the whole file on this thread.
      if (typeof data === 'string' || data instanceof Uint8Array) await fh.writeFile(data);
      else for (const chunk of data) await fh.writeFile(chunk);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true }).catch(() => {});
    throw e;
  }
}
