// Test fixtures: tiny generated checkpoints in a per-process temp folder, and an isolated graph cache.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeTestModel, type TestModelOptions } from '../../model/make-test-model.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sprig-test-'));
process.env.SPRIG_CACHE_DIR ??= path.join(root, 'cache');
process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }));

/** Generates (once per process) a test model and returns its folder. */
export function testModel(name: string, opts: TestModelOptions): string {
  const dir = path.join(root, name);
  if (!fs.existsSync(path.join(dir, 'config.json'))) makeTestModel(dir, opts);
  return dir;
}

export const SHARED = path.resolve(import.meta.dirname, '../../../shared');
export const STORIES = path.join(SHARED, 'models/stories260K-hf');
export const STORIES_DRAFT = path.join(SHARED, 'models/stories260K-q4draft-hf');
export const hasStories = fs.existsSync(path.join(STORIES, 'config.json'));

/** A draft made by keeping only the first `layers` layers of a checkpoint (config edited, weights linked). */
export function truncatedDraft(srcDir: string, layers: number): string {
  const dir = path.join(root, `${path.basename(srcDir)}-first${layers}`);
  if (fs.existsSync(path.join(dir, 'config.json'))) return dir;
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(srcDir)) {
    if (f !== 'config.json') fs.symlinkSync(path.join(srcDir, f), path.join(dir, f));
  }
  const cfg = JSON.parse(fs.readFileSync(path.join(srcDir, 'config.json'), 'utf8'));
  cfg.num_hidden_layers = layers;
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
  return dir;
}
