/** One error type for everything thrown on purpose; rendered as RFC 9457 problem+json. */
import type { ProblemCode } from '../../contract/index.ts';

interface ProblemKind {
  status: number;
  title: string;
}

/** The registry: every code the service can answer with, its HTTP status and a stable title. */
export const problemKinds = {
  bad_request: { status: 400, title: 'Bad request' },
  validation_failed: { status: 400, title: 'Request validation failed' },
  unauthenticated: { status: 401, title: 'Authentication required' },
  ticket_invalid: { status: 401, title: 'View ticket invalid' },
  ticket_expired: { status: 401, title: 'View ticket expired' },
  ticket_wrong_document: { status: 403, title: 'View ticket is for another document' },
  forbidden: { status: 403, title: 'Not allowed' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'Conflict' },
  gone: { status: 410, title: 'Gone' },
  request_timeout: { status: 408, title: 'Request body too slow' },
  length_required: { status: 411, title: 'Content-Length required' },
  tus_version_required: { status: 412, title: 'Tus-Resumable header required' },
  tus_extension_unsupported: { status: 400, title: 'tus extension not offered' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  range_not_satisfiable: { status: 416, title: 'Range not satisfiable' },
  header_fields_too_large: { status: 431, title: 'Request header fields too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  media_type_mismatch: { status: 415, title: 'Declared media type contradicts the content' },
  unprocessable: { status: 422, title: 'Document cannot be processed' },
  classification_refused: { status: 422, title: 'Classification not allowed on this system' },
  encrypted_pdf: { status: 422, title: 'Password-protected PDF' },
  page_limit_exceeded: { status: 422, title: 'Too many pages' },
  image_too_large: { status: 422, title: 'Image exceeds the pixel limit' },
  processing_timeout: { status: 422, title: 'Processing time budget exceeded' },
  jwe_invalid: { status: 400, title: 'Encrypted part rejected' },
  idempotency_conflict: { status: 422, title: 'Idempotency key reused with a different request' },
  idempotency_in_progress: { status: 409, title: 'A request with this idempotency key is still in progress' },
  retention_active: { status: 409, title: 'Retention period still active' },
  too_many_requests: { status: 429, title: 'Too many requests' },
  busy: { status: 503, title: 'Service busy' },
  idp_unavailable: { status: 503, title: 'Identity provider unavailable' },
  storage_unavailable: { status: 503, title: 'Storage unavailable' },
  integrity_error: { status: 500, title: 'Stored object failed its integrity check' },
  xdomea_not_representable: { status: 422, title: 'Document cannot be expressed in xdomea' },
  internal: { status: 500, title: 'Internal server error' },
} as const satisfies Record<ProblemCode, ProblemKind>;

export type ErrorCode = keyof typeof problemKinds;

/** A text for a person in both languages; the problem renderer answers in the one the caller accepts (German first). */
export interface Localized {
  de: string;
  en: string;
}

export interface AppErrorOptions {
  /** What was wrong and what to do, for the client; never document content or secrets. */
  detail?: string | Localized;
  cause?: unknown;
  /** Extra problem members (RFC 9457 extensions), e.g. `retryAfter` or a field list. */
  extra?: Record<string, unknown>;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** The detail in English (also the message); `texts` holds it in both languages when given so. */
  readonly detail: string | undefined;
  readonly texts: Localized | undefined;
  readonly extra: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, options: AppErrorOptions = {}) {
    const detail = typeof options.detail === 'string' ? options.detail : options.detail?.en;
    super(detail ?? problemKinds[code].title, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = problemKinds[code].status;
    this.detail = detail;
    this.texts = typeof options.detail === 'object' ? options.detail : undefined;
    this.extra = options.extra;
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}
