// hf:OWNER/REPO[@REVISION][:QUANT] parsing.
import t from 'tap';
import { parseHubSpec } from '../../../model/hub/spec.ts';

t.test('repo, revision and quant', async (t) => {
  t.same(parseHubSpec('hf:Qwen/Qwen2.5-0.5B-Instruct'), { repo: 'Qwen/Qwen2.5-0.5B-Instruct', revision: 'main', quant: null });
  t.same(parseHubSpec('hf:bartowski/Llama-3.2-1B-Instruct-GGUF:q4_k_m'), { repo: 'bartowski/Llama-3.2-1B-Instruct-GGUF', revision: 'main', quant: 'Q4_K_M' });
  t.same(parseHubSpec('hf:o/r@refs/pr/1:Q8_0'), { repo: 'o/r', revision: 'refs/pr/1', quant: 'Q8_0' });
  t.same(parseHubSpec('hf:o/r@v1.0'), { repo: 'o/r', revision: 'v1.0', quant: null });
});

t.test('malformed references fail saying the syntax', async (t) => {
  for (const bad of ['hf:justname', 'hf:o/r/x', 'hf:o/r:', 'hf:o/r:Q4-K', 'hf:o/r@:Q4_0', 'hf:../r', 'hf:o/r@a/../b']) {
    t.throws(() => parseHubSpec(bad), { code: 'SPRIG_ERR_INVALID_PARAM', message: /expected hf:OWNER\/REPO\[@REVISION\]\[:QUANT\]/ }, bad);
  }
});
