// GET / and /ui: the built-in playground (server/ui/), and its scripts and styles under /ui/. Static files read
// once at startup; nothing is fetched from anywhere else (the CSP says so). Open without the API key: the page
// asks for the key and sends it with its own API calls. `--no-ui` leaves these routes out.
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';

const UI_DIR = path.join(import.meta.dirname, '..', 'ui');
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'";

export function registerUi(app: FastifyInstance): void {
  // Browsers ask for it on their own; nothing to show.
  app.get('/favicon.ico', { config: { public: true } }, async (_request, reply) => reply.code(204).send());
  for (const name of fs.readdirSync(UI_DIR)) {
    const type = TYPES[path.extname(name)];
    if (!type) continue;
    const body = fs.readFileSync(path.join(UI_DIR, name));
    const urls = name === 'index.html' ? ['/', '/ui', '/ui/'] : [`/ui/${name}`];
    for (const url of urls) {
      app.get(url, { config: { public: true } }, async (_request, reply) => {
        reply.header('content-security-policy', CSP).header('cache-control', 'no-cache').type(type);
        return body;
      });
    }
  }
}
