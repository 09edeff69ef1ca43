// The playground's only network code: same-origin calls to this server, with the API key when one is set,
// and an SSE reader for streamed completions (fetch + ReadableStream, so POST bodies and headers work).

const KEY = 'sprig-api-key';

export function apiKey() {
  return localStorage.getItem(KEY) ?? '';
}

export function setApiKey(key) {
  if (key) localStorage.setItem(KEY, key);
  else localStorage.removeItem(KEY);
}

function headers() {
  const h = { 'content-type': 'application/json' };
  const key = apiKey();
  if (key) h.authorization = `Bearer ${key}`;
  return h;
}

/** An error with the server's OpenAI-shaped message and the HTTP status. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function failure(res) {
  let message = `${res.status} ${res.statusText}`;
  try {
    message = (await res.json()).error.message;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(res.status, message);
}

/** GET /v1/models: the served model's id (throws ApiError 401 when a key is needed). */
export async function modelId() {
  const res = await fetch('/v1/models', { headers: headers() });
  if (!res.ok) throw await failure(res);
  return (await res.json()).data[0].id;
}

/**
 * POSTs a streamed request and calls onEvent with every JSON payload until [DONE].
 * path: '/v1/completions' or '/v1/chat/completions'; signal: an AbortSignal.
 */
export async function stream(path, body, onEvent, signal) {
  const res = await fetch(path, { method: 'POST', headers: headers(), body: JSON.stringify({ ...body, stream: true }), signal });
  if (!res.ok) throw await failure(res);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (!frame.startsWith('data: ')) continue;
      const data = frame.slice(6);
      if (data === '[DONE]') return;
      const event = JSON.parse(data);
      if (event.error) throw new ApiError(0, event.error.message);
      onEvent(event);
    }
  }
}
