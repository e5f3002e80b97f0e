import { createHash } from 'node:crypto';
import { AppError, type Localized } from '../kernel/errors.ts';
import { parseCaptureMetadata, type CaptureMetadata } from './capture-metadata.ts';
import type { CapturePart } from './capture.ts';
import { ID_PATTERN } from '../storage/layout.ts';
import { checkJsonBounds } from '../kernel/json-bounds.ts';

/** Decrypts one JWE compact serialization (src/crypto/jwe.ts behind the ingest key ring, in the crypto pool); may take over `compact`'s memory. */
export interface PartDecryptor {
  /** `sha256`: hex SHA-256 of the plaintext, hashed while decrypting. */
  decrypt(compact: Buffer): Promise<{ plaintext: Buffer; header: { alg: string; kid?: string; cty?: string }; sha256: string }>;
}

/** Finished resumable uploads (src/uploads/), read for the capture that references them. */
export interface UploadResolver {
  /** The declared ciphertext size of each upload, in order; only the owner's live uploads. */
  sizes(owner: string, ids: string[]): Promise<number[]>;
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

/**
 * Turns the raw `file` parts into plaintext parts, each with its SHA-256; encrypted ones are decrypted
 * in memory, side by side. A refusal names the first bad part, as if they were read in order.
 */
export async function toCaptureParts(
  files: ReceivedFile[],
  decryptor: PartDecryptor,
  requireEncryption: boolean,
): Promise<CapturePart[]> {
  const settled = await Promise.allSettled(files.map((file, i) => toCapturePart(file, i, decryptor, requireEncryption)));
  const refused = settled.find((result) => result.status === 'rejected');
  if (refused) throw refused.reason;
  return settled.map((result) => (result as PromiseFulfilledResult<CapturePart>).value);
}

async function toCapturePart(file: ReceivedFile, i: number, decryptor: PartDecryptor, requireEncryption: boolean): Promise<CapturePart> {
  if (isJose(file.mimetype)) {
    const { plaintext, header, sha256 } = await decryptAt(decryptor, file.buffer, filePart(i));
    return { bytes: nonEmpty(plaintext, i), sha256, declaredType: header.cty, jwe: { alg: header.alg, kid: header.kid ?? '' } };
  }
  if (requireEncryption) throw unencrypted(filePart(i));
  const bytes = nonEmpty(file.buffer, i);
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex'), declaredType: GENERIC_TYPES.has(file.mimetype) ? undefined : file.mimetype };
}

/** An empty part is a client that failed to read its file; say so rather than "unknown type". */
function nonEmpty(bytes: Buffer, index: number): Buffer {
  if (bytes.length > 0) return bytes;
  throw new AppError('validation_failed', {
    detail: { de: `Dateiteil ${index + 1} ist leer; senden Sie die Bytes der Datei.`, en: `file part ${index + 1} is empty; send the file's bytes.` },
  });
}

function filePart(index: number): Localized {
  return { de: `Dateiteil ${index + 1}`, en: `file part ${index + 1}` };
}

/** How many bytes one capture may bring (its body and the uploads it names together), and where they are counted. */
export interface CaptureBudget {
  maxBytes: number;
  /** The request body's own length, already counted. */
  bodyBytes: number;
  /** Counts referenced bytes against admission before they are read; throws when they do not fit. */
  reserve(bytes: number): void;
}

/** The capture's files: inline `file` parts, or finished uploads named by `upload` fields (JWE like inline jose parts), never both. */
export async function receivedFiles(
  inline: ReceivedFile[],
  uploadField: unknown,
  resolver: UploadResolver,
  owner: string,
  budget: CaptureBudget,
): Promise<{ files: ReceivedFile[]; uploadIds: string[] }> {
  const uploadIds = uploadIdsOf(uploadField);
  if (uploadIds.length === 0) return { files: inline, uploadIds };
  if (inline.length > 0) {
    throw new AppError('bad_request', {
      detail: {
        de: "Senden Sie die Dateien entweder direkt als 'file'-Teile oder als 'upload'-Felder, die abgeschlossene fortsetzbare Uploads nennen, nicht beides in einer Anfrage.",
        en: "Send the files either inline as 'file' parts or as 'upload' fields naming finished resumable uploads, not both in one request.",
      },
    });
  }
  const referenced = (await resolver.sizes(owner, uploadIds)).reduce((sum, size) => sum + size, 0);
  if (budget.bodyBytes + referenced > budget.maxBytes) {
    throw new AppError('payload_too_large', {
      detail: {
        de: `Die Uploads dieser Erfassung haben zusammen ${referenced} Bytes; eine Erfassung darf höchstens ${budget.maxBytes} bringen (MAX_REQUEST_BYTES). Teilen Sie das Dokument auf mehrere Erfassungen auf.`,
        en: `The uploads this capture names hold ${referenced} bytes; one capture may bring at most ${budget.maxBytes} (MAX_REQUEST_BYTES). Split the document into several captures.`,
      },
      extra: { limit: budget.maxBytes },
    });
  }
  budget.reserve(referenced);
  const ciphertexts = await resolver.readFinished(owner, uploadIds);
  return { files: ciphertexts.map((buffer) => ({ buffer, mimetype: JOSE_MEDIA_TYPE })), uploadIds };
}

function uploadIdsOf(field: unknown): string[] {
  const values: unknown[] = field === undefined ? [] : Array.isArray(field) ? field : [field];
  const ids = values.map((value) => {
    if (typeof value !== 'string' || !ID_PATTERN.test(value)) {
      throw new AppError('validation_failed', {
        detail: {
          de: "Jedes 'upload'-Feld muss eine Upload-Kennung sein: die 26-stellige ULID am Ende der Location, die POST /v1/uploads geantwortet hat.",
          en: "Each 'upload' field must be an upload id: the 26-character ULID at the end of the Location that POST /v1/uploads answered.",
        },
      });
    }
    return value;
  });
  // One upload is one file: naming it twice would only multiply the memory a capture takes.
  const repeated = ids.find((id, i) => ids.indexOf(id) !== i);
  if (repeated) {
    throw new AppError('validation_failed', {
      detail: {
        de: `Upload '${repeated}' ist mehrfach genannt; nennen Sie jeden Upload nur einmal (ein Upload je Datei).`,
        en: `Upload '${repeated}' is named more than once; name each upload once (one upload per file).`,
      },
    });
  }
  return ids;
}

/** The metadata part: JSON text, or a JWE whose plaintext is that JSON. */
export async function toCaptureMetadata(
  value: string | Buffer | undefined,
  decryptor: PartDecryptor,
  requireEncryption: boolean,
): Promise<{ metadata: CaptureMetadata; encrypted: boolean }> {
  const text = utf8(value, METADATA_PART).trim();
  if (!text) {
    throw new AppError('validation_failed', {
      detail: { de: "Senden Sie einen 'metadata'-Teil: JSON mit mindestens einem Titel, oder ein JWE davon.", en: "Send a 'metadata' part: JSON with at least a title, or a JWE of it." },
    });
  }
  if (!COMPACT_JWE.test(text)) {
    if (requireEncryption) throw unencrypted(METADATA_PART);
    checkJsonBounds(text, METADATA_PART);
    return { metadata: parseCaptureMetadata(text), encrypted: false };
  }
  const { plaintext } = await decryptAt(decryptor, Buffer.from(text), METADATA_PART);
  const json = utf8(plaintext, DECRYPTED_METADATA);
  checkJsonBounds(json, DECRYPTED_METADATA);
  return { metadata: parseCaptureMetadata(json), encrypted: true };
}

/** A compact JWE is base64url segments joined by dots; anything else is meant as JSON (and refused as such). */
const COMPACT_JWE = /^[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*)+$/;
const METADATA_PART: Localized = { de: 'Der metadata-Teil', en: 'The metadata part' };
const DECRYPTED_METADATA: Localized = { de: 'Die entschlüsselten Metadaten', en: 'The decrypted metadata' };

/** Strict UTF-8: invalid bytes would otherwise become U+FFFD silently in titles and case numbers. */
function utf8(value: string | Buffer | undefined, what: Localized): string {
  if (value === undefined || typeof value === 'string') return value ?? '';
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(value);
  } catch {
    throw new AppError('validation_failed', {
      detail: { de: `${what.de}: kein gültiges UTF-8; senden Sie das JSON in UTF-8 kodiert.`, en: `${what.en} is not valid UTF-8; send the JSON encoded as UTF-8.` },
    });
  }
}

function isJose(mimetype: string): boolean {
  return mimetype.split(';')[0]!.trim().toLowerCase() === JOSE_MEDIA_TYPE;
}

async function decryptAt(decryptor: PartDecryptor, compact: Buffer, where: Localized) {
  try {
    return await decryptor.decrypt(compact);
  } catch (err) {
    if (err instanceof AppError && err.code === 'jwe_invalid') {
      const reason = err.texts ?? { de: err.message, en: err.message };
      throw new AppError('jwe_invalid', { detail: { de: `${where.de}: ${reason.de}`, en: `${where.en}: ${reason.en}` }, cause: err, extra: err.extra });
    }
    throw err;
  }
}

function unencrypted(where: Localized): AppError {
  return new AppError('bad_request', {
    detail: {
      de: `${where.de} ist nicht verschlüsselt, dieser Dienst verlangt aber jeden Teil als JWE (Content-Type: application/jose). Verschlüsseln Sie ihn mit einem Schlüssel aus GET /v1/keys.`,
      en: `${where.en} is not encrypted, but this service requires every part as a JWE (Content-Type: application/jose). Encrypt it to a key from GET /v1/keys.`,
    },
  });
}
