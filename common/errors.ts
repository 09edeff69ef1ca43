// The one catalogue of Sprig's coded errors. Every error a user can see is made here,
// with a stable code, an HTTP status for the server, and (where it is about a request field) the param.

export type ErrorType = 'invalid_request_error' | 'authentication_error' | 'not_found_error' | 'rate_limit_error' | 'server_error';

export class SprigError extends Error {
  readonly code: string;
  readonly statusCode: number;
  readonly type: ErrorType;
  readonly param: string | null;

  constructor(code: string, message: string, statusCode: number, type: ErrorType, param: string | null = null, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SprigError';
    this.code = code;
    this.statusCode = statusCode;
    this.type = type;
    this.param = param;
  }
}

const make = (code: string, statusCode: number, type: ErrorType) =>
  (message: string, param: string | null = null, options?: { cause?: unknown }) =>
    new SprigError(code, message, statusCode, type, param, options);

export const errors = {
  /** The checkpoint folder or file is missing a required part. */
  checkpointMissing: make('SPRIG_ERR_CHECKPOINT_MISSING', 400, 'invalid_request_error'),
  /** The checkpoint is readable but Sprig cannot run it (architecture, config field, dtype). */
  unsupportedModel: make('SPRIG_ERR_UNSUPPORTED_MODEL', 400, 'invalid_request_error'),
  /** The checkpoint's files disagree with each other or are corrupt. */
  badCheckpoint: make('SPRIG_ERR_BAD_CHECKPOINT', 400, 'invalid_request_error'),
  /** Prompt plus requested tokens (or a tree) would not fit the context window. */
  contextOverflow: make('SPRIG_ERR_CONTEXT_OVERFLOW', 400, 'invalid_request_error'),
  /** A request or CLI parameter has an invalid value. */
  invalidParam: make('SPRIG_ERR_INVALID_PARAM', 400, 'invalid_request_error'),
  /** Draft and target models do not share a vocabulary. */
  vocabMismatch: make('SPRIG_ERR_VOCAB_MISMATCH', 400, 'invalid_request_error'),
  /** Unknown drafter, model or other named thing. */
  notFound: make('SPRIG_ERR_NOT_FOUND', 404, 'not_found_error'),
  /** Missing or wrong API key. */
  unauthorized: make('SPRIG_ERR_UNAUTHORIZED', 401, 'authentication_error'),
  /** The wait queue is full. */
  queueFull: make('SPRIG_ERR_QUEUE_FULL', 429, 'rate_limit_error'),
  /** The request body exceeds the size limit. */
  bodyTooLarge: make('SPRIG_ERR_BODY_TOO_LARGE', 413, 'invalid_request_error'),
  /** The HTTP request or its JSON body cannot be read (bad JSON, body shorter than its Content-Length, bad framing). */
  malformedRequest: make('SPRIG_ERR_MALFORMED_REQUEST', 400, 'invalid_request_error'),
  /** A known path asked with a method it does not serve. */
  methodNotAllowed: make('SPRIG_ERR_METHOD_NOT_ALLOWED', 405, 'invalid_request_error'),
  /** The client took longer than --receive-timeout-ms to send its whole request. */
  receiveTimeout: make('SPRIG_ERR_RECEIVE_TIMEOUT', 408, 'invalid_request_error'),
  /** The body's Content-Type is missing or not one the route reads. */
  unsupportedMediaType: make('SPRIG_ERR_UNSUPPORTED_MEDIA_TYPE', 415, 'invalid_request_error'),
  /** The request's header block is larger than the HTTP server accepts. */
  headersTooLarge: make('SPRIG_ERR_HEADERS_TOO_LARGE', 431, 'invalid_request_error'),
  /** The server is draining (shutting down): no new generations. */
  draining: make('SPRIG_ERR_DRAINING', 503, 'server_error'),
  /** A running request was cut off at the drain timeout of a shutdown. */
  shutdownCut: make('SPRIG_ERR_SHUTDOWN', 503, 'server_error'),
  /** A request ran past its time budget (--request-timeout-ms), queued or running. */
  timeBudget: make('SPRIG_ERR_TIMEOUT', 504, 'server_error'),
  /** The request was cancelled (client gone, timeout, shutdown). */
  cancelled: make('SPRIG_ERR_CANCELLED', 499, 'invalid_request_error'),
  /** The Hugging Face Hub (or its mirror) could not be reached, or a download from it failed. */
  downloadFailed: make('SPRIG_ERR_DOWNLOAD_FAILED', 502, 'server_error'),
  /** A downloaded file's sha256 or size differs from what the Hub lists for it. */
  checksumMismatch: make('SPRIG_ERR_CHECKSUM_MISMATCH', 502, 'server_error'),
  /** The Hugging Face Hub refused access to a gated or private repository (no HF_TOKEN, or a refused one). */
  hubAuth: make('SPRIG_ERR_HUB_AUTH', 502, 'server_error'),
  /** The engine's worker thread stopped (crash, out of memory): requests in flight fail and the server is no longer ready. */
  engineStopped: make('SPRIG_ERR_ENGINE_STOPPED', 500, 'server_error'),
  /** An internal invariant failed: a bug. */
  internal: make('SPRIG_ERR_INTERNAL', 500, 'server_error'),
};

export function isSprigError(e: unknown): e is SprigError {
  return e instanceof SprigError;
}
