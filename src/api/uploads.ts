import { Router, type Request, type RequestHandler } from 'express';
import { Server } from '@tus/server';
import type { Upload } from '@tus/utils';
import { NodeRequest, sendNodeResponse } from 'srvx/node';
import type { ServerRequest } from 'srvx';
import { ulid } from 'ulid';
import { AppError, problemKinds, type ErrorCode } from '../kernel/errors.ts';
import { requireRole } from '../auth/principal.ts';
import type { ObjectUploadStore } from '../uploads/upload-store.ts';
import { withOwner } from '../uploads/upload-store.ts';
import { principalOf } from './middleware/auth.ts';
import { toAppError } from './middleware/problem.ts';
import { germanTitles } from './middleware/problem-language.ts';
import type { Admission } from './middleware/admission.ts';
import { JOSE_MEDIA_TYPE } from '../documents/capture-parts.ts';

export const UPLOADS_PATH = '/v1/uploads';
const BODY_METHODS = new Set(['POST', 'PATCH', 'PUT']);

export interface UploadsRouterDeps {
  uploads: ObjectUploadStore;
  /** Largest upload (ciphertext bytes) accepted. */
  maxBytes: number;
  /** Size of the chunk objects: what one PATCH holds in memory at most. */
  chunkBytes: number;
  /** The admission of resumable uploads, shared with captures. */
  admission: Admission;
}

/** tus answers with plain-text errors; these registry codes carry its statuses as problem+json. */
const CODE_OF_STATUS: Partial<Record<number, ErrorCode>> = {
  404: 'not_found',
  409: 'conflict',
  410: 'gone',
  412: 'tus_version_required',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  // tus answers 501 for Upload-Concat and Upload-Defer-Length; the request is the client's: it asked for an extension Tus-Extension does not list.
  501: 'tus_extension_unsupported',
};

/** tus 1.0 resumable uploads (creation, termination, expiration) of JWE ciphertext, owned by their creator. */
export function uploadsRouter(deps: UploadsRouterDeps): Router {
  // Errors raised inside tus, kept per request so they reach our problem handler unchanged.
  const failures = new WeakMap<object, unknown>();
  const tus = new Server({
    path: UPLOADS_PATH,
    datastore: deps.uploads,
    maxSize: deps.maxBytes,
    // Relative, so no Host or X-Forwarded-* header decides where clients send their ciphertext.
    relativeLocation: true,
    namingFunction: () => ulid(),
    onIncomingRequest: async (req, id) => {
      const principal = principalOf(expressRequest(req));
      requireRole(principal, 'capture');
      if (req.method !== 'POST') await deps.uploads.owned(id, principal.sub);
    },
    onUploadCreate: async (req, upload) => {
      requireJoseFiletype(upload);
      return { metadata: withOwner(upload, principalOf(expressRequest(req)).sub) };
    },
    onUploadFinish: async (_req, upload) => {
      await deps.uploads.verifyFinished(upload.id);
      return {};
    },
    onResponseError: (req, err) => {
      failures.set(req, err);
      return undefined;
    },
  });

  const handle: RequestHandler = async (req, res) => {
    const request = new NodeRequest({ req, res });
    const response = await tus.handleWeb(request);
    if (response.status < 400) return sendNodeResponse(res, response);
    for (const [name, value] of response.headers) if (name.startsWith('tus-') || name === 'connection') res.setHeader(name, value);
    if (response.status === 501) res.setHeader('Tus-Extension', deps.uploads.extensions.join(','));
    throw toUploadError(failures.get(request), response.status, await response.text());
  };

  const router = Router();
  const admit = deps.admission.admit((req) => Math.min(Number(req.headers['content-length']) || 0, deps.chunkBytes));
  // Any method that may carry a body, on any upload path, passes the shared admission first.
  const admitBodies: RequestHandler = (req, res, next) => {
    if (!BODY_METHODS.has(req.method)) return next();
    requireRole(principalOf(req), 'capture');
    admit(req, res, next);
  };
  router.all([UPLOADS_PATH, `${UPLOADS_PATH}/:id`], admitBodies, handle);
  return router;
}

/** srvx keeps the node request it wraps; it is the express request bearerAuth attached the principal to. */
function expressRequest(req: ServerRequest): Request {
  const node = req.runtime?.node?.req;
  if (!node) throw new Error('tus request without its node request');
  return node as Request;
}

/** Only ciphertext is accepted, and the client says so up front, before sending a byte. */
function requireJoseFiletype(upload: Upload): void {
  const filetype = upload.metadata?.filetype?.split(';')[0]?.trim().toLowerCase();
  if (filetype !== JOSE_MEDIA_TYPE) {
    throw new AppError('unsupported_media_type', {
      detail: {
        de: `Fortsetzbare Uploads enthalten nur JWE-Chiffretext: verschlüsseln Sie die Datei mit einem Schlüssel aus GET /v1/keys und geben Sie in Upload-Metadata 'filetype' = ${JOSE_MEDIA_TYPE} an.`,
        en: `Resumable uploads carry only JWE ciphertext: encrypt the file to a key from GET /v1/keys and declare it with Upload-Metadata 'filetype' = ${JOSE_MEDIA_TYPE}.`,
      },
    });
  }
}

/** Our own errors pass unchanged; tus's {status_code, body} errors and plain responses become registry codes. */
function toUploadError(failure: unknown, status: number, text: string): AppError {
  if (failure !== undefined && !isTusError(failure)) return toAppError(failure);
  const code = CODE_OF_STATUS[status];
  if (code === 'tus_extension_unsupported') {
    return new AppError(code, {
      detail: {
        de: 'Dieser Server bietet nur die in Tus-Extension genannten tus-Erweiterungen (keine Verkettung, keine nachgereichte Länge): senden Sie einen Upload je Datei mit ihrer Upload-Length.',
        en: 'This server offers the tus extensions listed in Tus-Extension only (no concatenation, no deferred length): send one upload per file with its Upload-Length.',
      },
    });
  }
  if (status >= 500) return toAppError(failure ?? new Error(`tus answered ${status}: ${text}`));
  const refused = code ?? 'bad_request';
  const reason = text.trim();
  // tus's own reason is English; German callers get it behind a German lead-in.
  return new AppError(refused, {
    detail: { de: `Der Upload-Dienst (tus) lehnt ab: ${reason || germanTitles[refused]}`, en: `tus: ${reason || problemKinds[refused].title}` },
  });
}

function isTusError(err: unknown): err is { status_code: number; body: string } {
  return typeof err === 'object' && err !== null && typeof (err as { status_code?: unknown }).status_code === 'number';
}
