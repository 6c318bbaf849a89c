/**
 * Structured JSON logs (pino). Never log a token, code, secret or email code: the redact list is a
 * safety net, callers still must not pass them.
 */
import { pino } from 'pino';

export type Logger = pino.Logger;

export function createLogger(level = 'info'): Logger {
  return pino({
    level,
    base: { service: 'latchkey' },
    redact: {
      paths: [
        'code',
        'token',
        'access_token',
        'refresh_token',
        'secret',
        'password',
        '*.code',
        '*.token',
        '*.secret',
      ],
      censor: '[redacted]',
    },
  });
}

/** A logger that drops everything, for tests and the CLI's quiet commands. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
