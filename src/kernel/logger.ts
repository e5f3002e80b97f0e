import { pino, type Logger, type DestinationStream } from 'pino';

/** Paths scrubbed wherever they appear, as a second line of defence behind the serializers. */
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.authorization',
  '*.token',
  '*.ticket',
  '*.password',
  '*.secretKey',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' }, base: { service: 'vs-capture' } }, destination);
}
