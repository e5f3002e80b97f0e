import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { MulterError } from 'multer';
import { AppError, isAppError, problemKinds, type Localized } from '../../kernel/errors.ts';
import { StorageUnavailableError } from '../../storage/object-store.ts';
import { IntegrityError } from '../../crypto/at-rest.ts';
import { bodyPending, type LingeringClose } from './lingering-close.ts';
import { germanTitles, languageOf, localize, type Language } from './problem-language.ts';

export const PROBLEM_TYPE_BASE = 'https://vs-capture.invalid/problems/';

/** Seconds a client should wait before retrying a 503 or 429. */
const RETRY_AFTER_SECONDS = 5;

/** The RFC 9457 problem document of `err` in `lang`; the one place error bodies are shaped. */
export function problemDocument(err: AppError, lang: Language, instance?: string): unknown {
  return localize(
    {
      type: PROBLEM_TYPE_BASE + err.code,
      title: lang === 'de' ? germanTitles[err.code] : problemKinds[err.code].title,
      status: err.status,
      code: err.code,
      ...(err.detail ? { detail: err.texts ?? err.detail } : {}),
      ...(instance ? { instance } : {}),
      ...err.extra,
    },
    lang,
  );
}

/** Writes `err` as a problem response, in the caller's language. */
export function sendProblem(res: Response, err: AppError, instance?: string): void {
  const lang = languageOf(res.req);
  const body = problemDocument(err, lang, instance);
  res.setHeader('Content-Language', lang);
  res.vary('Accept-Language');
  if (err.status === 503 || err.status === 429) res.setHeader('Retry-After', String(err.extra?.retryAfter ?? RETRY_AFTER_SECONDS));
  res.status(err.status).type('application/problem+json').send(JSON.stringify(body));
}

/** Maps errors of libraries and stores onto our registry; anything unknown is a 500. */
export function toAppError(err: unknown): AppError {
  if (isAppError(err)) return err;
  if (err instanceof StorageUnavailableError) {
    return new AppError('storage_unavailable', {
      detail: { de: 'Der Dokumentenspeicher ist nicht erreichbar. Versuchen Sie es später erneut.', en: 'The document store is unreachable. Retry later.' },
      cause: err,
    });
  }
  if (err instanceof IntegrityError) {
    return new AppError('integrity_error', {
      detail: { de: 'Ein gespeichertes Objekt hat die Integritätsprüfung nicht bestanden; der Betrieb ist informiert.', en: 'A stored object failed its integrity check; operations have been alerted.' },
      cause: err,
    });
  }
  if (err instanceof MulterError) return fromMulter(err);
  const status = (err as { status?: unknown; type?: unknown }).status;
  // body-parser errors carry a 4xx status and a safe type string.
  if (typeof status === 'number' && status === 413) {
    return new AppError('payload_too_large', { detail: { de: 'Der Request-Body ist zu groß.', en: 'The request body is too large.' }, cause: err });
  }
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new AppError('bad_request', {
      detail: { de: 'Der Request-Body ist nicht lesbar: prüfen Sie seine Syntax und den Content-Type.', en: 'The request body could not be read: check its syntax and Content-Type.' },
      cause: err,
    });
  }
  return new AppError('internal', { detail: { de: 'Ein unerwarteter Fehler ist aufgetreten; er wurde protokolliert.', en: 'An unexpected error occurred; it has been logged.' }, cause: err });
}

function fromMulter(err: MulterError): AppError {
  const field = err.field ?? '';
  const details: Record<string, [AppError['code'], Localized]> = {
    LIMIT_FILE_SIZE: [
      'payload_too_large',
      {
        de: 'Ein Dateiteil überschreitet die Größengrenze (MAX_FILE_BYTES): teilen oder komprimieren Sie ihn, oder nutzen Sie einen fortsetzbaren Upload.',
        en: 'A file part exceeds the size limit (see MAX_FILE_BYTES); split or compress it, or use a resumable upload.',
      },
    ],
    LIMIT_FILE_COUNT: ['payload_too_large', { de: 'Zu viele Dateiteile: senden Sie höchstens die eingestellte Zahl (MAX_FILES).', en: 'Too many file parts; send at most the configured number (MAX_FILES).' }],
    LIMIT_FIELD_VALUE: ['payload_too_large', { de: 'Ein Formularfeld ist zu lang: die Metadaten dürfen höchstens 64 KiB groß sein.', en: 'A form field is too long; metadata must be at most 64 KiB.' }],
    LIMIT_FIELD_COUNT: ['bad_request', { de: 'Zu viele Formularfelder: senden Sie ein metadata-Feld.', en: 'Too many form fields; send one metadata field.' }],
    LIMIT_PART_COUNT: ['bad_request', { de: 'Zu viele Teile im Multipart-Body.', en: 'Too many multipart parts.' }],
    LIMIT_FIELD_KEY: ['bad_request', { de: 'Ein Feldname im Formular ist zu lang.', en: 'A form field name is too long.' }],
    LIMIT_UNEXPECTED_FILE: [
      'bad_request',
      { de: `Unerwartetes Dateifeld '${field}': senden Sie Dateien in Teilen namens 'file'.`, en: `Unexpected file field '${field}'; send files in parts named 'file'.` },
    ],
    MISSING_FIELD_NAME: ['bad_request', { de: 'Ein Teil des Multipart-Bodys hat keinen Feldnamen.', en: 'A multipart part has no field name.' }],
  };
  // The 'file' field's maxCount is MAX_FILES, so one file too many surfaces as an unexpected 'file'.
  const key = err.code === 'LIMIT_UNEXPECTED_FILE' && err.field === 'file' ? 'LIMIT_FILE_COUNT' : err.code;
  const [code, detail] = details[key] ?? ['bad_request', { de: 'Der Multipart-Body ist fehlerhaft aufgebaut.', en: 'The multipart body is malformed.' }];
  return new AppError(code, { detail, cause: err });
}

/** `lingering` answers a request whose body is still arriving (a limit hit mid-body) without a reset overtaking the answer. */
export function problemHandler(log: { error: (obj: object, msg: string) => void }, lingering: LingeringClose): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (res.headersSent) {
      // A response broken off midway must not look complete; one fully sent (e.g. a 408 cut-off) closes on its own.
      if (!res.writableEnded) req.socket.destroy();
      return;
    }
    const appErr = toAppError(err);
    // Only unexpected failures are logged with their cause; 4xx are the client's business.
    if (appErr.status >= 500) log.error({ err: appErr.cause ?? appErr, code: appErr.code }, 'request failed');
    if (bodyPending(req)) lingering.arm(req, res);
    sendProblem(res, appErr);
  };
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new AppError('not_found', {
      detail: { de: `Keine Route für ${req.method} ${req.path}. Die API beschreibt /docs (und /openapi.yaml).`, en: `No route for ${req.method} ${req.path}. See /docs (and /openapi.yaml) for the API.` },
    }));
};
