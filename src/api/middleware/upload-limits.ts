import type { RequestHandler } from 'express';
import multer, { MulterError, type StorageEngine } from 'multer';
import { AppError } from '../../kernel/errors.ts';
import { METADATA_MAX_BYTES } from '../../kernel/json-bounds.ts';
import { encryptedSizeBound } from '../../crypto/jwe-size.ts';

export interface UploadLimits {
  maxFileBytes: number;
  maxFiles: number;
  /** Whole request body bound, checked against Content-Length before anything is read. */
  maxRequestBytes: number;
}

/**
 * Refuses bodies that are too large or of unknown length before buffering them in memory:
 * multer bounds each part, this bounds their sum.
 */
export function requireBoundedLength(maxRequestBytes: number): RequestHandler {
  return (req, _res, next) => {
    const header = req.headers['content-length'];
    if (header === undefined) {
      return next(
        new AppError('length_required', {
          detail: {
            de: 'Senden Sie einen Content-Length-Header; für Uploads unbekannter Größe nutzen Sie den fortsetzbaren Upload unter /v1/uploads.',
            en: 'Send a Content-Length header; for uploads of unknown size use the resumable upload endpoint /v1/uploads.',
          },
        }),
      );
    }
    const length = Number(header);
    if (!Number.isSafeInteger(length) || length < 0) {
      return next(
        new AppError('bad_request', {
          detail: { de: 'Content-Length ist keine gültige Zahl; senden Sie die Länge des Bodys in Bytes.', en: 'Content-Length is not a valid number; send the body length in bytes.' },
        }),
      );
    }
    if (length > maxRequestBytes) {
      return next(
        new AppError('payload_too_large', {
          detail: {
            de: `Die Anfrage hat ${length} Bytes; höchstens ${maxRequestBytes} werden in einer Anfrage angenommen. Nutzen Sie für größere Scans den fortsetzbaren Upload unter /v1/uploads.`,
            en: `The request is ${length} bytes; at most ${maxRequestBytes} are accepted in one request. Use the resumable upload endpoint /v1/uploads for larger scans.`,
          },
          extra: { limit: maxRequestBytes },
        }),
      );
    }
    next();
  };
}

/**
 * Multipart parsing in memory only: document bytes never touch the disk. A part past its bound is
 * refused at once, mid-body: multer would first read the rest of the body (up to maxRequestBytes)
 * only to discard it, so the refusal goes to the error handler now, which closes lingering.
 */
export function multipartCapture(limits: UploadLimits): RequestHandler {
  // The metadata's bound holds whether it comes as a field or as a file part, as JSON or as its JWE.
  const metadataBound = encryptedSizeBound(METADATA_MAX_BYTES);
  const fileBound = encryptedSizeBound(limits.maxFileBytes);
  const refusals = new WeakMap<object, (err: MulterError) => void>();
  const parse = multer({
    storage: boundedMemoryStorage(
      (field) => (field === 'file' ? { bound: fileBound, code: 'LIMIT_FILE_SIZE' } : { bound: metadataBound, code: 'LIMIT_FIELD_VALUE' }),
      (req, err) => refusals.get(req)!(err),
    ),
    limits: {
      fileSize: fileBound,
      files: limits.maxFiles + 1,
      // The metadata plus one `upload` field (a resumable upload id) per file.
      fields: limits.maxFiles + 4,
      fieldSize: metadataBound,
      parts: limits.maxFiles + 5,
      headerPairs: 200,
    },
  }).fields([
    { name: 'metadata', maxCount: 1 },
    { name: 'file', maxCount: limits.maxFiles },
  ]);
  return (req, res, next) => {
    // Called early by a refusal mid-body, then again by multer once the connection ends: only the first counts.
    let settled = false;
    const settle = (err?: unknown) => {
      if (settled) return;
      settled = true;
      next(err === undefined || err instanceof MulterError ? err : malformed(err));
    };
    refusals.set(req, settle);
    parse(req, res, settle);
  };
}

/** Busboy's parse errors (bad boundary, cut-off body, broken part headers) are plain Errors: the body was malformed. */
function malformed(err: unknown): AppError {
  const reason = err instanceof Error ? err.message : 'unreadable body';
  return new AppError('bad_request', {
    detail: {
      de: `Der multipart-Body ist fehlerhaft (${reason}); senden Sie multipart/form-data mit einem 'metadata'-Teil und 'file'-Teilen.`,
      en: `The multipart body is malformed (${reason}); send multipart/form-data with a 'metadata' part and 'file' parts.`,
    },
    cause: err,
  });
}

/**
 * multer's memory storage with a bound per field name, enforced while the part streams in. Past it,
 * a body that has fully arrived fails the multer way; one still arriving goes to `refuse` at once
 * (multer, left waiting, ends when the connection closes).
 */
function boundedMemoryStorage(boundOf: (field: string) => { bound: number; code: 'LIMIT_FILE_SIZE' | 'LIMIT_FIELD_VALUE' }, refuse: (req: object, err: MulterError) => void): StorageEngine {
  return {
    _handleFile(req, file, cb) {
      const { bound, code } = boundOf(file.fieldname);
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      const finish = (err: Error | null, info?: Partial<Express.Multer.File>) => {
        if (done) return;
        done = true;
        cb(err, info);
      };
      file.stream.on('data', (chunk: Buffer) => {
        if (done) return;
        size += chunk.length;
        if (size <= bound) return void chunks.push(chunk);
        chunks.length = 0;
        const err = new MulterError(code, file.fieldname);
        if (req.complete) return finish(err);
        done = true;
        refuse(req, err);
      });
      file.stream.on('error', (err: Error) => finish(err));
      file.stream.on('end', () => finish(null, { buffer: Buffer.concat(chunks, size), size }));
    },
    _removeFile(_req, file, cb) {
      (file as { buffer?: Buffer }).buffer = undefined;
      cb(null);
    },
  };
}
