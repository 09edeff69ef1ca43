// --state-save-interval (engine/state-saver.ts through startServer and the engine's worker thread): the suffix
// cache and the recycling matrix reach their files while the server runs, a new server starts from them, 0 saves
// only at shutdown, and a save that fails is logged and the server keeps serving.
import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { loadEngine } from '../../engine/load.ts';
import { startServer, type RunningServer, type ServeOptions } from '../../server/main.ts';
import { sleep, testModelDir } from './helpers.ts';

interface Record {
  level: number;
  msg: string;
  [k: string]: unknown;
}

/** A debug-level logger that keeps its records (the worker's arrive through it too). */
function capture(): { log: pino.Logger; records: Record[] } {
  const records: Record[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void records.push(JSON.parse(line) as Record) });
  return { log, records };
}

async function serve(opts: ServeOptions, log: pino.Logger): Promise<RunningServer> {
  return startServer({ model: testModelDir(), port: 0, threads: 1, drafters: ['suffix', 'recycling'], ...opts }, { log });
}

async function complete(url: string, prompt: string): Promise<{ choices: { text: string }[]; usage: { completion_tokens: number } }> {
  const res = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt, max_tokens: 24, temperature: 0 }) });
  if (res.status !== 200) throw new Error(`${res.status}: ${await res.text()}`);
  return (await res.json()) as { choices: { text: string }[]; usage: { completion_tokens: number } };
}

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; !ok(); await sleep(20)) if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
}

t.test('with an interval, the state reaches its files while serving, only when changed, and a new server starts from it', async (t) => {
  const dir = t.testdir();
  const suffixFile = path.join(dir, 'suffix.json');
  const recyclingFile = path.join(dir, 'recycling.bin');
  const { log, records } = capture();
  const server = await serve({ suffixCache: suffixFile, recyclingState: recyclingFile, stateSaveIntervalMs: 50 }, log);
  let stopped = false;
  t.teardown(() => stopped || server.shutdown());
  await sleep(200);
  t.notOk(fs.existsSync(suffixFile) || fs.existsSync(recyclingFile), 'nothing learned yet: nothing written');

  const out = await complete(server.url, 'Once upon a time');
  t.ok(out.usage.completion_tokens > 0);
  await until('both files', () => fs.existsSync(suffixFile) && fs.existsSync(recyclingFile));
  await until('both save records', () => records.filter((r) => r.msg === 'drafter state saved').length >= 2);
  // A tick during the generation may have saved the matrix half learned: let the save of the rest land.
  const saveCount = () => records.filter((r) => r.msg === 'drafter state saved').length;
  for (let last = -1, i = 0; saveCount() !== last && i < 40; i++, await sleep(250)) last = saveCount();
  const saves = records.filter((r) => r.msg === 'drafter state saved');
  t.match(saves.find((r) => r.state === 'suffix-cache'), { level: 20, file: suffixFile, bytes: fs.statSync(suffixFile).size, ms: Number });
  t.match(saves.find((r) => r.state === 'recycling-state'), { level: 20, file: recyclingFile, bytes: fs.statSync(recyclingFile).size, ms: Number });
  const saved = JSON.parse(fs.readFileSync(suffixFile, 'utf8')) as { requests: number[][] };
  t.equal(saved.requests.length, 1, 'the one output so far');
  t.equal(saved.requests[0].length, out.usage.completion_tokens, 'its tokens');
  t.notOk(fs.readdirSync(dir).some((f) => f.includes('.tmp-')), 'no temp file left behind');

  // Nothing changes while idle: no more writes.
  const count = saveCount();
  const mtime = fs.statSync(suffixFile).mtimeMs;
  await sleep(500);
  t.equal(saveCount(), count, 'no save without a change');
  t.equal(fs.statSync(suffixFile).mtimeMs, mtime);

  // The server is still running (no shutdown save yet): a new one starts from what the periodic save wrote.
  const second = capture();
  const again = await serve({ suffixCache: suffixFile, recyclingState: recyclingFile, stateSaveIntervalMs: 0 }, second.log);
  t.match(second.records.find((r) => r.msg === 'suffix cache loaded'), { file: suffixFile, requests: 1 }, 'the new server holds the earlier output');
  t.ok(second.records.some((r) => r.msg === 'recycling matrix loaded (hot start)'));
  await again.shutdown();
  // The same check in this process: what loads is exactly the saved output.
  const loaded = await loadEngine({ model: testModelDir(), suffixCache: suffixFile, recyclingState: recyclingFile, threads: 1 });
  t.same(loaded.resources.suffixCache!.outputs().map((o) => Array.from(o)), saved.requests);
  // (decoded alone, the first token's leading space is dropped; after the prompt it is kept)
  t.equal(loaded.tokenizer.decode(saved.requests[0], { skipSpecialTokens: true }).trimStart(), out.choices[0].text.trimStart(), 'the output the client got');
  await loaded.dispose();
  stopped = true;
  await server.shutdown();
});

t.test('--state-save-interval 0 writes only at shutdown', async (t) => {
  const dir = t.testdir();
  const suffixFile = path.join(dir, 'suffix.json');
  const { log, records } = capture();
  const server = await serve({ suffixCache: suffixFile, stateSaveIntervalMs: 0 }, log);
  await complete(server.url, 'The little dog');
  await sleep(500);
  t.notOk(fs.existsSync(suffixFile), 'no file while serving');
  t.notOk(records.some((r) => r.msg === 'drafter state saved'));
  await server.shutdown();
  t.equal((JSON.parse(fs.readFileSync(suffixFile, 'utf8')) as { requests: unknown[] }).requests.length, 1, 'saved at shutdown');
});

t.test('a save that fails is logged as a warning and the server keeps serving', async (t) => {
  const dir = t.testdir({ 'a-file': 'not a folder' });
  const suffixFile = path.join(dir, 'a-file', 'suffix.json'); // its folder is a file: every write fails
  const { log, records } = capture();
  const server = await serve({ suffixCache: suffixFile, stateSaveIntervalMs: 50 }, log);
  await complete(server.url, 'She opened the door and');
  await until('a warning', () => records.some((r) => r.msg.startsWith('could not save suffix-cache')));
  t.match(records.find((r) => r.msg.startsWith('could not save')), { level: 40, state: 'suffix-cache', file: suffixFile });
  const out = await complete(server.url, 'Tom said');
  t.ok(out.usage.completion_tokens > 0, 'still serving');
  const health = await fetch(`${server.url}/health`);
  t.equal(health.status, 200);
  await until('a retry', () => records.filter((r) => r.msg.startsWith('could not save')).length >= 2);
  await server.shutdown(); // the shutdown save fails too: logged, and the server still stops
  t.ok(records.some((r) => r.msg === 'stopped'));
});
