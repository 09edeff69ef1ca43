// `--model hf:...`: files fetched from a loopback Hub into the cache, resumed, checksum-checked, authorized,
// and reused offline.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { isSprigError } from '../../common/errors.ts';
import { loadCheckpoint } from '../../model/checkpoint.ts';
import { resolveHubModel, resolveModelSource } from '../../model/hub.ts';
import { makeTestModel } from '../../model/make-test-model.ts';
import { readSafetensorsHeader, readTensorF32, writeSafetensors } from '../../model/safetensors.ts';
import { FakeHub } from '../helpers/fake-hub.ts';

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const bytes = (n: number, seed: number) => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return b;
};
const Q4_0 = bytes(300_000, 1);
const Q8_0 = bytes(600_000, 2);
const Q4_K_M = bytes(200_000, 3);
const GGUF_REPO = {
  'README.md': '# a GGUF repo\n',
  'model-Q4_0.gguf': Q4_0,
  'model-Q8_0.gguf': Q8_0,
  'model-Q4_K_M.gguf': Q4_K_M,
  'mmproj-model-Q4_0.gguf': bytes(1000, 4),
};

/** A fresh test folder with the cache in it, a started fake Hub as HF_ENDPOINT, and no token in the environment. */
async function setup(t: Test): Promise<{ hub: FakeHub; cache: string; root: string }> {
  const saved = { cache: process.env.SPRIG_CACHE_DIR, endpoint: process.env.HF_ENDPOINT, token: process.env.HF_TOKEN, token2: process.env.HUGGING_FACE_HUB_TOKEN };
  const root = t.testdir();
  const cache = path.join(root, 'cache');
  process.env.SPRIG_CACHE_DIR = cache;
  delete process.env.HF_TOKEN;
  delete process.env.HUGGING_FACE_HUB_TOKEN;
  const hub = await new FakeHub().start();
  process.env.HF_ENDPOINT = hub.url;
  t.teardown(async () => {
    await hub.close();
    for (const [k, v] of [['SPRIG_CACHE_DIR', saved.cache], ['HF_ENDPOINT', saved.endpoint], ['HF_TOKEN', saved.token], ['HUGGING_FACE_HUB_TOKEN', saved.token2]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  return { hub, cache, root };
}

/** Every file under a folder, relative, '/'-separated. */
function listFiles(dir: string): string[] {
  return fs.existsSync(dir) ? (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()).map((f) => f.split(path.sep).join('/')).sort() : [];
}

async function rejection(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (!isSprigError(e)) throw e;
    return { code: e.code, message: e.message };
  }
  throw new Error('expected a rejection');
}

t.test('hf:owner/repo:QUANT fetches that one GGUF file into the cache, bytes and sha256 intact', async (t) => {
  const { hub, cache } = await setup(t);
  const sha = hub.addRepo('owner/gguf', GGUF_REPO);
  const file = await resolveHubModel('hf:owner/gguf:q4_0');
  t.equal(file, path.join(cache, 'hub', 'owner--gguf', sha, 'model-Q4_0.gguf'));
  t.equal(sha256(fs.readFileSync(file)), sha256(Q4_0));
  t.same(listFiles(path.join(cache, 'hub', 'owner--gguf', sha)), ['.sprig-complete.json', 'model-Q4_0.gguf'], 'only the chosen quant (not the mmproj file), no .part left');
  t.equal(fs.readFileSync(path.join(cache, 'hub', 'owner--gguf', 'refs', 'main'), 'utf8').trim(), sha, 'refs/main names the commit');
  t.ok(hub.requests.some((r) => r.url.startsWith('/cdn/')), 'the /resolve/ redirect to the CDN was followed');

  const n = hub.requests.length;
  t.equal(await resolveHubModel('hf:owner/gguf:Q4_0'), file, 'second call: same path');
  t.same(hub.requests.slice(n).map((r) => r.url), ['/api/models/owner/gguf/revision/main'], 'second call: listing only, no download');

  t.equal(path.basename(await resolveHubModel('hf:owner/gguf')), 'model-Q4_K_M.gguf', 'no quant in a GGUF-only repo → Q4_K_M');
  t.equal(path.basename(await resolveHubModel(`hf:owner/gguf@${sha}:Q8_0`)), 'model-Q8_0.gguf', '@REVISION accepted');

  const none = await rejection(resolveHubModel('hf:owner/gguf:Q5_K_S'));
  t.equal(none.code, 'SPRIG_ERR_NOT_FOUND');
  t.match(none.message, /no GGUF file for quantization Q5_K_S.*model-Q4_0\.gguf.*model-Q8_0\.gguf/);

  const missing = await rejection(resolveHubModel('hf:owner/nothing-here'));
  t.equal(missing.code, 'SPRIG_ERR_NOT_FOUND');
  t.match(missing.message, /repo owner\/nothing-here does not exist.*repository not found/);
  const badRev = await rejection(resolveHubModel('hf:owner/gguf@v9:Q4_0'));
  t.match(badRev.message, /owner\/gguf at revision v9 does not exist.*revision not found/);
});

t.test('a download cut off halfway resumes with a Range request', async (t) => {
  const { hub, cache } = await setup(t);
  const sha = hub.addRepo('owner/gguf', GGUF_REPO);
  hub.dropHalf.add('model-Q8_0.gguf');
  const cut = await rejection(resolveHubModel('hf:owner/gguf:Q8_0'));
  t.equal(cut.code, 'SPRIG_ERR_DOWNLOAD_FAILED');
  t.match(cut.message, /model-Q8_0\.gguf in owner\/gguf was cut off at \d+ of 600000 bytes.*resume/);
  const part = path.join(cache, 'hub', 'owner--gguf', sha, 'model-Q8_0.gguf.part');
  const have = fs.statSync(part).size;
  t.ok(have > 0 && have < Q8_0.length, `a .part of ${have} bytes is kept`);

  const file = await resolveHubModel('hf:owner/gguf:Q8_0');
  const ranged = hub.requests.filter((r) => r.range);
  t.same(ranged.map((r) => r.url.split('/')[1]), ['owner', 'cdn'], 'one ranged /resolve/ request, its redirect to the CDN keeping the Range');
  t.ok(ranged.every((r) => r.range === `bytes=${have}-`), `the second run asked for bytes=${have}- only`);
  t.ok(fs.readFileSync(file).equals(Q8_0), 'the joined file equals the original');
  t.notOk(fs.existsSync(part));
});

t.test('a server that ignores Range restarts the file from the beginning', async (t) => {
  const { hub, cache } = await setup(t);
  const sha = hub.addRepo('owner/gguf', GGUF_REPO);
  hub.ignoreRange = true;
  const dir = path.join(cache, 'hub', 'owner--gguf', sha);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'model-Q4_0.gguf.part'), Buffer.alloc(1000, 0x55));
  const file = await resolveHubModel('hf:owner/gguf:Q4_0');
  t.ok(hub.requests.some((r) => r.range === 'bytes=1000-'), 'resume was tried');
  t.ok(fs.readFileSync(file).equals(Q4_0), 'the 200 answer replaced the .part instead of being appended');
});

t.test('a checksum mismatch names the file and both sha256s and leaves nothing of it in the cache', async (t) => {
  const { hub, cache } = await setup(t);
  const sha = hub.addRepo('owner/gguf', GGUF_REPO);
  hub.corrupt.add('model-Q4_0.gguf');
  const bad = Buffer.from(Q4_0);
  bad[bad.length >> 1] ^= 0xff;
  const e = await rejection(resolveHubModel('hf:owner/gguf:Q4_0'));
  t.equal(e.code, 'SPRIG_ERR_CHECKSUM_MISMATCH');
  t.match(e.message, 'model-Q4_0.gguf');
  t.match(e.message, `expected sha256 ${sha256(Q4_0)}, got ${sha256(bad)}`);
  const dir = path.join(cache, 'hub', 'owner--gguf', sha);
  t.same(listFiles(dir).filter((f) => f.startsWith('model-Q4_0')), [], 'no .part, no final file');
  t.notOk(fs.existsSync(path.join(dir, '.sprig-complete.json')), 'not recorded as complete');

  hub.corrupt.clear();
  t.ok(fs.readFileSync(await resolveHubModel('hf:owner/gguf:Q4_0')).equals(Q4_0), 'a clean retry succeeds');
});

t.test('a gated repo: 401 without HF_TOKEN says to set it, a wrong token is refused, the right one works', async (t) => {
  const { hub } = await setup(t);
  hub.addRepo('owner/gated', GGUF_REPO);
  hub.token = 'hf_right';
  const none = await rejection(resolveHubModel('hf:owner/gated:Q4_0'));
  t.equal(none.code, 'SPRIG_ERR_HUB_AUTH');
  t.match(none.message, /owner\/gated.*HTTP 401.*set HF_TOKEN/);

  process.env.HF_TOKEN = 'hf_wrong';
  const wrong = await rejection(resolveHubModel('hf:owner/gated:Q4_0'));
  t.match(wrong.message, /refused the token in HF_TOKEN/);
  t.notMatch(wrong.message, 'hf_wrong', 'the token is never in a message');

  delete process.env.HF_TOKEN;
  process.env.HUGGING_FACE_HUB_TOKEN = 'hf_right';
  const file = await resolveHubModel('hf:owner/gated:Q4_0');
  t.ok(fs.readFileSync(file).equals(Q4_0));
  t.ok(hub.requests.filter((r) => r.url.includes('/resolve/')).every((r) => r.authorization === 'Bearer hf_right'), 'downloads carry the bearer token');
});

t.test('offline: a cached revision is reused without the network or during a Hub outage; an uncached one fails naming the endpoint', async (t) => {
  const { hub } = await setup(t);
  hub.addRepo('owner/gguf', GGUF_REPO);
  const file = await resolveHubModel('hf:owner/gguf:Q4_0');
  hub.outage = true;
  t.equal(await resolveHubModel('hf:owner/gguf:Q4_0'), file, 'Hub answering 503 → the cached copy');
  const outage = await rejection(resolveHubModel('hf:owner/gguf:Q8_0'));
  t.match(outage, { code: 'SPRIG_ERR_DOWNLOAD_FAILED', message: /HTTP 503.*repo owner\/gguf/ }, '503 with nothing cached says so');
  const endpoint = hub.url;
  await hub.close();
  t.equal(await resolveHubModel('hf:owner/gguf:Q4_0'), file, 'connection refused → the cached copy');
  const e = await rejection(resolveHubModel('hf:owner/gguf:Q8_0'));
  t.equal(e.code, 'SPRIG_ERR_DOWNLOAD_FAILED');
  t.match(e.message, `cannot reach the Hugging Face Hub at ${endpoint}`);
  t.match(e.message, /ECONNREFUSED/);
  process.env.HF_HUB_OFFLINE = '1';
  t.teardown(() => void delete process.env.HF_HUB_OFFLINE);
  t.equal(await resolveHubModel('hf:owner/gguf:Q4_0'), file, 'HF_HUB_OFFLINE=1 → the cached copy');
});

t.test('hf:owner/repo with safetensors fetches a checkpoint folder that loadCheckpoint accepts', async (t) => {
  const { hub, root } = await setup(t);
  const src = path.join(root, 'src');
  makeTestModel(src, { arch: 'llama', seed: 7, layers: 1, hidden: 32, heads: 4, kvHeads: 2, vocab: 300, intermediate: 48 });
  const files: Record<string, Buffer> = {};
  for (const f of fs.readdirSync(src)) files[f] = fs.readFileSync(path.join(src, f));
  files['README.md'] = Buffer.from('# tiny\n');
  files['original/consolidated.pth'] = Buffer.from('not fetched');
  hub.addRepo('owner/tiny', files);
  const dir = await resolveHubModel('hf:owner/tiny');
  t.same(listFiles(dir).filter((f) => !f.startsWith('.')), Object.keys(files).filter((f) => f.endsWith('.json') || f.endsWith('.safetensors')).sort());
  for (const f of listFiles(dir).filter((f) => !f.startsWith('.'))) t.ok(fs.readFileSync(path.join(dir, f)).equals(files[f]), `${f} intact`);
  const ckpt = loadCheckpoint(dir);
  t.equal(ckpt.spec.vocabSize, 300);
  t.equal(await resolveModelSource('hf:owner/tiny'), dir, 'resolveModelSource hands hf: references here');

  // Sharded: only the shards model.safetensors.index.json names are fetched (not a stray consolidated file).
  const infos = readSafetensorsHeader(path.join(src, 'model.safetensors'));
  const half = Math.ceil(infos.length / 2);
  const sharded: Record<string, Buffer> = { 'config.json': files['config.json'], 'tokenizer.json': files['tokenizer.json'] };
  const weightMap: Record<string, string> = {};
  const tmp = path.join(root, 'shards');
  fs.mkdirSync(tmp);
  [infos.slice(0, half), infos.slice(half)].forEach((list, i) => {
    const name = `model-0000${i + 1}-of-00002.safetensors`;
    writeSafetensors(path.join(tmp, name), list.map((x) => ({ name: x.name, shape: x.shape, data: readTensorF32(x) })));
    sharded[name] = fs.readFileSync(path.join(tmp, name));
    for (const x of list) weightMap[x.name] = name;
  });
  sharded['model.safetensors.index.json'] = Buffer.from(JSON.stringify({ metadata: {}, weight_map: weightMap }));
  sharded['consolidated.safetensors'] = files['model.safetensors'];
  hub.addRepo('owner/sharded', sharded);
  const dir2 = await resolveHubModel('hf:owner/sharded');
  t.same(listFiles(dir2).filter((f) => !f.startsWith('.')), ['config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json', 'tokenizer.json']);
  t.equal(loadCheckpoint(dir2).weightFiles.length, 2);
});

t.test('resolveModelSource leaves folders and the default model to resolveModelPath', async (t) => {
  t.equal(await resolveModelSource('some/folder'), path.resolve('some/folder'));
});
