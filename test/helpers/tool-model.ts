// An engine on a test model (the server test model's shape, a context that holds a rendered tool list) with a
// tool-aware chat template (test/helpers/tool-templates.ts) installed in its tokenizer_config.json.
import fs from 'node:fs';
import path from 'node:path';
import { ModelRunner } from '../../model/runner.ts';
import { loadTokenizer } from '../../model/tokenizer.ts';
import { createEngine, type Engine } from '../../server/engine.ts';
import { MODEL_ID } from '../server/helpers.ts';
import { testModel } from './models.ts';

/** The server test model's shape with a context window that holds a rendered tool list (2048 tokens). */
export function toolModelDir(): string {
  return testModel('server-llama-tools', { arch: 'llama', seed: 11, layers: 2, hidden: 32, heads: 4, kvHeads: 2, vocab: 384, contextLength: 2048 });
}

let runner: Promise<ModelRunner> | null = null;

/** The tool test model's folder with `template` as its chat template (weights linked, tokenizer config edited). */
export function withTemplate(name: string, template: string): string {
  const src = toolModelDir();
  const dir = path.join(path.dirname(src), `server-llama-tools-${name}`);
  if (fs.existsSync(path.join(dir, 'config.json'))) return dir;
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(src)) if (f !== 'tokenizer_config.json') fs.symlinkSync(path.join(src, f), path.join(dir, f));
  const config = JSON.parse(fs.readFileSync(path.join(src, 'tokenizer_config.json'), 'utf8'));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ ...config, chat_template: template }));
  return dir;
}

/** An engine on the tool test model (one runner per process) whose tokenizer has `template` installed. */
export async function toolEngine(name: string, template: string): Promise<Engine> {
  runner ??= ModelRunner.load(toolModelDir(), { threads: 1 });
  const r = await runner;
  const tokenizer = await loadTokenizer(withTemplate(name, template), r.source.generationConfig);
  return createEngine({ runner: r, tokenizer, modelId: MODEL_ID });
}
