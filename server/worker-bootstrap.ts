// The source a TypeScript worker thread starts from: tsx is registered inside the worker (module hooks do not
// reach workers), then the entry is imported. Pass it to `new Worker(source, { eval: true })`.

export function workerBootstrap(entry: URL): string {
  const tsx = import.meta.resolve('tsx/esm/api');
  // An eval'd worker gets CommonJS's `module` and `exports` as globals; UMD bundles (@mlc-ai/web-xgrammar)
  // would then export into them instead of onto globalThis as they do on the main thread.
  return `delete globalThis.module; delete globalThis.exports; import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
}
