/**
 * Structured logging: pino, one JSON event per line. Components take a `Logger`
 * and derive children carrying their ids (`{ jobId, taskId, attemptId }`), so
 * every line about one attempt can be found with one filter.
 */
import { pino, type Logger as PinoLogger, type DestinationStream, type LevelWithSilent } from 'pino';

/** The logger type every component accepts. */
export type Logger = PinoLogger;

/** Log levels accepted in `cluster.yml` (`log_level`) and `COMPUTALOT_LOG_LEVEL`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const satisfies readonly LevelWithSilent[];
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Options for {@link createLogger}. */
export interface CreateLoggerOptions {
  /** Minimum level written; default `info`. */
  readonly level?: LogLevel;
  /** Component name stamped on every line (`name` field). */
  readonly name?: string;
  /** Fixed fields on every line, e.g. `{ controllerId }`. */
  readonly base?: Record<string, unknown>;
  /** Where lines go; default stdout. Tests pass a stream to capture lines. */
  readonly destination?: DestinationStream;
}

/**
 * Creates the process's root logger. Keys that may hold secrets are redacted
 * at the source so a careless `log.info({ headers })` cannot leak a token.
 */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      ...(options.name === undefined ? {} : { name: options.name }),
      base: { pid: process.pid, ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['authorization', '*.authorization', 'headers.authorization', 'headers["payment-signature"]', 'token', '*.token', 'apiKey', '*.apiKey'],
        censor: '[redacted]',
      },
      formatters: {
        // Level names instead of numbers: readable in `grep` and in log shippers alike.
        level: (label) => ({ level: label }),
      },
    },
    options.destination,
  );
}

/** A logger that drops everything; for tests and library callers that pass none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
