// Workloads: the project suites, Spec-Bench's question.jsonl and HumanEval read as they are, selection,
// and how turns become prompts (chat messages, plain transcripts, verbatim text continuation).
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { chatMessages, loadPromptFile, loadSuite, plainPrompt, selectItems, SUITES } from '../../bench/workloads.ts';
import { SHARED } from '../helpers/models.ts';

const SPEC_BENCH = path.join(SHARED, 'benchmarks/spec-bench-questions.jsonl');
const HUMANEVAL = path.join(SHARED, 'benchmarks/humaneval.jsonl');

t.test('the project suites cover the five kinds of task', async (t) => {
  const general = loadSuite('general');
  t.same([...new Set(general.map((i) => i.category))], ['code', 'extraction', 'qa', 'chat', 'multiturn']);
  t.ok(general.filter((i) => i.category === 'multiturn').every((i) => i.turns.length === 2));
  t.ok(general.filter((i) => i.category === 'code').every((i) => i.format === 'text'));
  const stories = loadSuite('stories');
  t.same([...new Set(stories.map((i) => i.category))], ['story', 'retell', 'qa', 'dialogue', 'multiturn']);
  t.equal(new Set([...general, ...stories].map((i) => i.id)).size, general.length + stories.length, 'ids are unique');
  t.same(Object.keys(SUITES), ['general', 'stories', 'agentic', 'code-edit', 'multiturn', 'extraction']);
  t.throws(() => loadSuite('nope'), /unknown suite "nope"/);
});

t.test('cross-request suites: one template with different inputs, edits that copy their input, growing conversations', async (t) => {
  const agentic = loadSuite('agentic');
  t.ok(agentic.length >= 6 && agentic.every((i) => i.category === 'agentic' && i.turns.length === 1));
  const head = (s: string) => s.split('\n')[0];
  t.equal(new Set(agentic.map((i) => head(i.turns[0]))).size, 1, 'the same task line');
  t.equal(new Set(agentic.map((i) => i.turns[0])).size, agentic.length, 'different inputs');
  const edits = loadSuite('code-edit');
  t.ok(edits.length >= 4 && edits.every((i) => i.category === 'code-edit' && /Return the same/.test(i.turns[0])));
  const multi = loadSuite('multiturn');
  t.ok(multi.every((i) => i.category === 'multiturn' && i.turns.length >= 4 && i.format === 'chat'));
  for (const item of [...agentic, ...edits, ...multi]) t.ok(item.turns.join('').length < 400, `${item.id} is short enough for a small model's context`);
});

t.test('Spec-Bench question.jsonl as it is: 13 categories, two-turn MT-Bench', { skip: !fs.existsSync(SPEC_BENCH) && 'no ../shared' }, async (t) => {
  const items = loadPromptFile(SPEC_BENCH);
  t.equal(items.length, 480);
  t.equal(new Set(items.map((i) => i.category)).size, 13);
  const writing = items.find((i) => i.category === 'writing')!;
  t.equal(writing.id, '81');
  t.equal(writing.turns.length, 2);
  t.equal(writing.format, 'chat');
  t.equal(writing.suite, 'spec-bench-questions');
  const one = selectItems(items, { limit: 1 });
  t.equal(one.length, 13);
  t.same(selectItems(items, { categories: ['qa', 'rag'], limit: 2 }).map((i) => i.category), ['qa', 'qa', 'rag', 'rag']);
});

t.test('HumanEval as it is: the prompt field, text format, the file name as category', { skip: !fs.existsSync(HUMANEVAL) && 'no ../shared' }, async (t) => {
  const items = loadPromptFile(HUMANEVAL);
  t.equal(items.length, 164);
  t.hasStrict(items[0], { id: 'HumanEval/0', category: 'humaneval', format: 'text' });
  t.match(items[0].turns[0], /^from typing import List/);
});

t.test('bad files fail with the line number', async (t) => {
  const dir = t.testdir({ 'bad.jsonl': '{"prompt": "ok"}\nnot json\n', 'empty.jsonl': '\n', 'shape.jsonl': '{"turns": []}\n' });
  t.throws(() => loadPromptFile(path.join(dir, 'bad.jsonl')), /bad\.jsonl:2: not JSON/);
  t.throws(() => loadPromptFile(path.join(dir, 'empty.jsonl')), /no prompts/);
  t.throws(() => loadPromptFile(path.join(dir, 'shape.jsonl')), /shape\.jsonl:1: needs "turns"/);
});

t.test('selection keeps file order, caps each category, and makes duplicate ids unique', async (t) => {
  const mk = (id: string, category: string) => ({ id, suite: 's', category, format: 'text' as const, turns: [id] });
  const items = [mk('a', 'x'), mk('a', 'y'), mk('b', 'x'), mk('c', 'x')];
  t.same(selectItems(items, { limit: 2 }).map((i) => i.id), ['a', 'a~2', 'b']);
  t.throws(() => selectItems(items, { categories: ['z'] }), /no prompts in z \(have: x, y\)/);
});

t.test('turns become prompts: chat messages, a plain transcript, verbatim continuation', async (t) => {
  const chat = { id: 'c', suite: 's', category: 'c', format: 'chat' as const, turns: ['Q1', 'Q2'] };
  t.same(chatMessages(chat, [], 0), [{ role: 'user', content: 'Q1' }]);
  t.same(chatMessages(chat, ['A1'], 1), [{ role: 'user', content: 'Q1' }, { role: 'assistant', content: 'A1' }, { role: 'user', content: 'Q2' }]);
  t.equal(plainPrompt(chat, [' A1 '], 1), 'User: Q1\nAssistant: A1\nUser: Q2\nAssistant:');
  const text = { id: 't', suite: 's', category: 't', format: 'text' as const, turns: ['Once upon a time', '\n\nThe next day'] };
  t.equal(plainPrompt(text, [], 0), 'Once upon a time');
  t.equal(plainPrompt(text, [', a cat sat.'], 1), 'Once upon a time, a cat sat.\n\nThe next day');
});

t.test('the extraction suite: every prompt carries a JSON Schema structured output accepts', async (t) => {
  const { grammarSpecOf } = await import('../../grammar/spec.ts');
  const items = loadSuite('extraction');
  t.ok(items.length >= 8);
  for (const it of items) {
    t.ok(it.schema, `${it.id} has a schema`);
    t.doesNotThrow(() => grammarSpecOf({ response_format: { type: 'json_schema', json_schema: { name: it.id, schema: it.schema } } }), `${it.id}: no unsupported keywords`);
  }
  const dir = t.testdir({ 'bad.jsonl': JSON.stringify({ prompt: 'x', schema: [1] }) });
  t.throws(() => loadPromptFile(`${dir}/bad.jsonl`), /bad\.jsonl:1: "schema" must be a JSON Schema object/);
});
