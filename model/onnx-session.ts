// The only module that imports onnxruntime-node: session creation and a typed run().
import ort from 'onnxruntime-node';

export type OrtTensor = ort.Tensor;
export type Feeds = Record<string, ort.Tensor>;

export interface SessionOptions {
  /** Intra-op threads; 0 lets onnxruntime choose. */
  threads?: number;
  /** Write onnxruntime's per-op profile (Chrome trace JSON) to files starting with this path. */
  profilePrefix?: string;
}

export interface OnnxSession {
  run(feeds: Feeds): Promise<Record<string, ort.Tensor>>;
  /** Flushes the profile when the session was created with profilePrefix. */
  endProfiling(): void;
  release(): Promise<void>;
}

export async function createSession(modelPath: string, opts: SessionOptions = {}): Promise<OnnxSession> {
  const session = await ort.InferenceSession.create(modelPath, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: opts.threads ?? 0,
    interOpNumThreads: 1,
    logSeverityLevel: 3,
    ...(opts.profilePrefix ? { enableProfiling: true, profileFilePrefix: opts.profilePrefix } : {}),
  });
  return {
    run: (feeds) => session.run(feeds),
    endProfiling: () => session.endProfiling(),
    release: () => session.release(),
  };
}

export function floatTensor(data: Float32Array, dims: number[]): ort.Tensor {
  return new ort.Tensor('float32', data, dims);
}

export function int64Tensor(values: ArrayLike<number>, dims: number[]): ort.Tensor {
  const data = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = BigInt(values[i]);
  return new ort.Tensor('int64', data, dims);
}
