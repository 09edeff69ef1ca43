// sprig profile: onnxruntime's per-op trace is read back and split by op group.
import t from 'tap';
import { profileForwards } from '../../bench/profile.ts';
import { testModel } from '../helpers/models.ts';

t.test('profileForwards splits each forward into matrix products, attention and the rest', async (t) => {
  const model = testModel('profile-llama', { arch: 'llama', seed: 41, layers: 2, hidden: 64, heads: 4, kvHeads: 2, vocab: 300, intermediate: 96 });
  const out = await profileForwards({ model, quantize: 'q4', threads: 1, prefix: 8, sizes: [1, 4], runs: 5 });
  t.equal(out.rows.length, 2);
  for (const r of out.rows) {
    t.ok(r.ops.MatMulNBits > 0, `n=${r.n}: MatMulNBits kernels were timed (q4 graph)`);
    t.ok(r.ops.Attention > 0, `n=${r.n}: attention was timed`);
    t.ok(r.wall_ms >= r.ort_ms, `n=${r.n}: wall ${r.wall_ms.toFixed(3)} ms includes onnxruntime's ${r.ort_ms.toFixed(3)} ms`);
    const sum = r.groups.matmul + r.groups.attention + r.groups.other;
    t.ok(sum > 0 && sum <= r.ort_ms * 1.05, `n=${r.n}: kernel sums ${sum.toFixed(3)} ms fit in the run`);
  }
});
