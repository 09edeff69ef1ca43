// Worker-thread entry (see server/tokenizer-thread.ts): builds the model's tokenizer from its path, the
// same way the engine did, and encodes the texts it is sent, so long prompts never hold the event loop.
import { parentPort, workerData } from 'node:worker_threads';
import { openModelSource } from '../model/source.ts';

export interface EncodeMessage {
  id: number;
  text: string;
  addSpecialTokens: boolean;
}

export type EncodeReply = { id: number; ids: Int32Array } | { id: number; error: string };

const port = parentPort!;
const loading = openModelSource((workerData as { modelPath: string }).modelPath).loadTokenizer();
loading.catch(() => {});

port.on('message', (msg: EncodeMessage) => {
  loading.then((tokenizer) => {
    const ids = Int32Array.from(tokenizer.encode(msg.text, { addSpecialTokens: msg.addSpecialTokens }));
    port.postMessage({ id: msg.id, ids } satisfies EncodeReply, [ids.buffer]);
  }).catch((e: unknown) => {
    port.postMessage({ id: msg.id, error: e instanceof Error ? e.message : String(e) } satisfies EncodeReply);
  });
});
