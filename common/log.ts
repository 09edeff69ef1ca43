// The process logger. Components take child loggers: `logger.child({ component: 'engine' })`.
import { pino, type Logger } from 'pino';

export type { Logger };

export const logger: Logger = pino({
  level: process.env.SPRIG_LOG_LEVEL ?? process.env.LOG_LEVEL ?? 'info',
  redact: ['prompt', 'messages', 'text', 'completion'],
}, pino.destination(2));
