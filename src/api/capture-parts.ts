import { AppError } from '../errors.ts';
import { parseCaptureMetadata, type CaptureMetadata } from '../metadata.ts';
import type { CapturePart } from '../documents.ts';
import { ID_PATTERN } from '../storage/layout.ts';

/** Decrypts one JWE compact serialization (src/crypto/jwe.ts behind the ingest key ring). */
export interface PartDecryptor {
  decrypt(compact: Buffer): Promise<{ plaintext: Buffer; header: { alg: string; kid?: string; cty?: string } }>;
}

/** Finished resumable uploads (src/uploads/), read for the capture that references them. */
export interface UploadResolver {
  /** The ciphertext of each upload, in order; only the owner's finished uploads. */
  readFinished(owner: string, ids: string[]): Promise<Buffer[]>;
  /** Removes the uploads a capture consumed. */
  discard(owner: string, ids: string[]): Promise<void>;
}

export const JOSE_MEDIA_TYPE = 'application/jose';
const GENERIC_TYPES = new Set(['application/octet-stream', 'binary/octet-stream', '']);

export interface ReceivedFile {
  buffer: Buffer;
  mimetype: string;
}

/** Turns the raw `file` parts into plaintext parts; encrypted ones are decrypted in memory. */
export async function toCaptureParts(
  files: ReceivedFile[],
  decryptor: PartDecryptor,
  requireEncryption: boolean,
): Promise<CapturePart[]> {
  const parts: CapturePart[] = [];
  for (const [i, file] of files.entries()) {
    if (isJose(file.mimetype)) {
      const { plaintext, header } = await decryptAt(decryptor, file.buffer, `file part ${i + 1}`);
      parts.push({ bytes: nonEmpty(plaintext, i), declaredType: header.cty, jwe: { alg: header.alg, kid: header.kid ?? '' } });
      continue;
    }
    if (requireEncryption) throw unencrypted(`file part ${i + 1}`);
    parts.push({ bytes: nonEmpty(file.buffer, i), declaredType: GENERIC_TYPES.has(file.mimetype) ? undefined : file.mimetype });
  }
  return parts;
}

/** An empty part is a client that failed to read its file; say so rather than "unknown type". */
function nonEmpty(bytes: Buffer, index: number): Buffer {
  if (bytes.length > 0) return bytes;
  throw new AppError('validation_failed', { detail: `file part ${index + 1} is empty; send the file's bytes.` });
}

/** The capture's files: inline `file` parts, or finished uploads named by `upload` fields (JWE like inline jose parts), never both. */
export async function receivedFiles(
  inline: ReceivedFile[],
  uploadField: unknown,
  resolver: UploadResolver,
  owner: string,
): Promise<{ files: ReceivedFile[]; uploadIds: string[] }> {
  const uploadIds = uploadIdsOf(uploadField);
  if (uploadIds.length === 0) return { files: inline, uploadIds };
  if (inline.length > 0) {
    throw new AppError('bad_request', {
      detail: "Send the files either inline as 'file' parts or as 'upload' fields naming finished resumable uploads, not both in one request.",
    });
  }
  const ciphertexts = await resolver.readFinished(owner, uploadIds);
  return { files: ciphertexts.map((buffer) => ({ buffer, mimetype: JOSE_MEDIA_TYPE })), uploadIds };
}

function uploadIdsOf(field: unknown): string[] {
  const values: unknown[] = field === undefined ? [] : Array.isArray(field) ? field : [field];
  return values.map((value) => {
    if (typeof value !== 'string' || !ID_PATTERN.test(value)) {
      throw new AppError('validation_failed', {
        detail: "Each 'upload' field must be an upload id: the 26-character ULID at the end of the Location that POST /v1/uploads answered.",
      });
    }
    return value;
  });
}

/** The metadata part: JSON text, or a JWE whose plaintext is that JSON. */
export async function toCaptureMetadata(
  value: string | Buffer | undefined,
  decryptor: PartDecryptor,
  requireEncryption: boolean,
): Promise<{ metadata: CaptureMetadata; encrypted: boolean }> {
  const text = utf8(value, 'The metadata part').trim();
  if (!text) {
    throw new AppError('validation_failed', { detail: "Send a 'metadata' part: JSON with at least a title, or a JWE of it." });
  }
  if (!COMPACT_JWE.test(text)) {
    if (requireEncryption) throw unencrypted('the metadata part');
    return { metadata: parseCaptureMetadata(text), encrypted: false };
  }
  const { plaintext } = await decryptAt(decryptor, Buffer.from(text), 'the metadata part');
  return { metadata: parseCaptureMetadata(utf8(plaintext, 'The decrypted metadata')), encrypted: true };
}

/** A compact JWE is base64url segments joined by dots; anything else is meant as JSON (and refused as such). */
const COMPACT_JWE = /^[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*)+$/;

/** Strict UTF-8: invalid bytes would otherwise become U+FFFD silently in titles and case numbers. */
function utf8(value: string | Buffer | undefined, what: string): string {
  if (value === undefined || typeof value === 'string') return value ?? '';
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(value);
  } catch {
    throw new AppError('validation_failed', { detail: `${what} is not valid UTF-8; send the JSON encoded as UTF-8.` });
  }
}

function isJose(mimetype: string): boolean {
  return mimetype.split(';')[0]!.trim().toLowerCase() === JOSE_MEDIA_TYPE;
}

async function decryptAt(decryptor: PartDecryptor, compact: Buffer, where: string) {
  try {
    return await decryptor.decrypt(compact);
  } catch (err) {
    if (err instanceof AppError && err.code === 'jwe_invalid') {
      throw new AppError('jwe_invalid', { detail: `${where}: ${err.detail ?? err.message}`, cause: err, extra: err.extra });
    }
    throw err;
  }
}

function unencrypted(where: string): AppError {
  return new AppError('bad_request', {
    detail: `${where} is not encrypted, but this service requires every part as a JWE (Content-Type: application/jose). Encrypt it to a key from GET /v1/keys.`,
  });
}
