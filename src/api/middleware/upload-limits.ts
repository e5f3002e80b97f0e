import type { RequestHandler } from 'express';
import multer, { MulterError } from 'multer';
import { AppError } from '../../errors.ts';

export interface UploadLimits {
  maxFileBytes: number;
  maxFiles: number;
  /** Whole request body bound, checked against Content-Length before anything is read. */
  maxRequestBytes: number;
}

/** JWE compact adds base64url (4/3) plus header, key and tag; allow that on top of the plaintext limit. */
export function encryptedSizeBound(plainBytes: number): number {
  return Math.ceil((plainBytes * 4) / 3) + 64 * 1024;
}

/**
 * Refuses bodies that are too large or of unknown length before buffering them in memory:
 * multer bounds each part, this bounds their sum.
 */
export function requireBoundedLength(maxRequestBytes: number): RequestHandler {
  return (req, _res, next) => {
    const header = req.headers['content-length'];
    if (header === undefined) {
      return next(new AppError('length_required', { detail: 'Send a Content-Length header; for uploads of unknown size use the resumable upload endpoint /v1/uploads.' }));
    }
    const length = Number(header);
    if (!Number.isSafeInteger(length) || length < 0) return next(new AppError('bad_request', { detail: 'Content-Length is not a valid number.' }));
    if (length > maxRequestBytes) {
      return next(
        new AppError('payload_too_large', {
          detail: `The request is ${length} bytes; at most ${maxRequestBytes} are accepted in one request. Use the resumable upload endpoint /v1/uploads for larger scans.`,
          extra: { limit: maxRequestBytes },
        }),
      );
    }
    next();
  };
}

/** Bounds how many uploads are buffered at once; beyond it the client gets 503 and Retry-After. */
export function admission(maxInFlight: number): RequestHandler {
  let inFlight = 0;
  return (_req, res, next) => {
    if (inFlight >= maxInFlight) {
      return next(new AppError('busy', { detail: 'Too many uploads are being processed right now; retry after the time in Retry-After.' }));
    }
    inFlight++;
    res.once('close', () => inFlight--);
    next();
  };
}

/** Multipart parsing in memory only: document bytes never touch the disk. */
export function multipartCapture(limits: UploadLimits): RequestHandler {
  const parse = multer({
    storage: multer.memoryStorage(),
    limits: {
      fileSize: encryptedSizeBound(limits.maxFileBytes),
      files: limits.maxFiles + 1,
      // The metadata plus one `upload` field (a resumable upload id) per file.
      fields: limits.maxFiles + 4,
      fieldSize: 64 * 1024,
      parts: limits.maxFiles + 5,
      headerPairs: 200,
    },
  }).fields([
    { name: 'metadata', maxCount: 1 },
    { name: 'file', maxCount: limits.maxFiles },
  ]);
  return (req, res, next) => parse(req, res, (err?: unknown) => next(err === undefined || err instanceof MulterError ? err : malformed(err)));
}

/** Busboy's parse errors (bad boundary, cut-off body, broken part headers) are plain Errors: the body was malformed. */
function malformed(err: unknown): AppError {
  const reason = err instanceof Error ? err.message : 'unreadable body';
  return new AppError('bad_request', { detail: `The multipart body is malformed (${reason}); send multipart/form-data with a 'metadata' part and 'file' parts.`, cause: err });
}
