// The download progress line: a live bar on a terminal, sparse lines otherwise.
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { downloadProgress } from '../../../model/hub/progress.ts';

function sink(isTTY: boolean): { out: NodeJS.WriteStream; text: () => string } {
  let text = '';
  const out = { isTTY, write: (s: string) => ((text += s), true) } as unknown as NodeJS.WriteStream;
  return { out, text: () => text };
}

t.test('on a terminal: percentage, MB and MB/s, redrawn in place, then a closing line', async (t) => {
  const s = sink(true);
  const p = downloadProgress('m-Q4_0.gguf', 4 * 1024 * 1024, 1024 * 1024, s.out);
  await sleep(250);
  p.update(2 * 1024 * 1024);
  t.match(s.text(), /^\r\[sprig\] downloading m-Q4_0\.gguf:\s+50\.0% 2\.0\/4\.0 MB, [\d.]+ MB\/s/);
  p.update(4 * 1024 * 1024);
  p.done();
  t.match(s.text(), /\r\[sprig\] downloaded m-Q4_0\.gguf: 4\.0 MB in [\d.]+ s \([\d.]+ MB\/s\)/);
  t.ok(s.text().endsWith('\x1b[K\n'), 'the closing line clears the rest of the bar and ends the line');
});

t.test('not a terminal: nothing for a quick download, no carriage returns', async (t) => {
  const s = sink(false);
  const p = downloadProgress('x', 100, 0, s.out);
  for (let i = 1; i <= 100; i++) p.update(i);
  p.done();
  t.equal(s.text(), '');
});
