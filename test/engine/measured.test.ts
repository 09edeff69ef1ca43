// On-disk measurements: reused across restarts, except one taken on a busy machine once the load has halved.
import t from 'tap';
import { measuredOnce, remeasure } from '../../engine/measured.ts';
import type { ModelRunner } from '../../model/runner.ts';

const runner = { compileInfo: { modelPath: '/graphs/abc123/model.onnx' }, threads: 2 } as unknown as ModelRunner;

t.test('the rule: busy when measured (load > 3/4 of the cores) and the load has halved since', async (t) => {
  t.equal(remeasure(undefined, { now: () => 0, cores: 2 }), false, 'files from before the load was recorded are kept');
  t.equal(remeasure(1.2, { now: () => 0, cores: 2 }), false, 'measured at load 1.2 on 2 cores: not busy');
  t.equal(remeasure(4, { now: () => 2.5, cores: 2 }), false, 'busy then, still busy now');
  t.equal(remeasure(4, { now: () => 1.5, cores: 2 }), true, 'busy then, quiet now');
});

t.test('measured once, stored with its load, and taken again when it was busy and the machine is quiet now', async (t) => {
  const dir = t.testdir();
  const saved = process.env.SPRIG_CACHE_DIR;
  process.env.SPRIG_CACHE_DIR = dir;
  t.teardown(() => {
    if (saved === undefined) delete process.env.SPRIG_CACHE_DIR;
    else process.env.SPRIG_CACHE_DIR = saved;
  });
  let load = 5;
  const machine = { now: () => load, cores: 2 };
  let runs = 0;
  const measure = async () => ++runs;
  t.equal(await measuredOnce('test-kind', runner, measure, machine), 1, 'measured (at load 5)');
  t.equal(await measuredOnce('test-kind', runner, measure, machine), 1, 'still busy: the stored value');
  load = 0.4;
  t.equal(await measuredOnce('test-kind', runner, measure, machine), 2, 'quiet now: measured again');
  load = 0.1;
  t.equal(await measuredOnce('test-kind', runner, measure, machine), 2, 'measured quiet: kept for good');
});
