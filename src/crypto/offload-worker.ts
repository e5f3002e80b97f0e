/** Piscina task of the crypto pool (offload.ts): runs in a worker thread. Refusals cross the thread boundary as plain data. */
import { createHash } from 'node:crypto';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { isAppError, type ErrorCode, type Localized } from '../kernel/errors.ts';
import { sealObject } from './at-rest.ts';
import { IngestKeyRing, type IngestKey } from '../keys/ingest-keys.ts';
import { decryptPart, type JweHeader } from './jwe.ts';

export type CryptoTask =
  | { kind: 'decrypt'; compact: Uint8Array; keys: IngestKey[]; maxBytes: number }
  | { kind: 'seal'; plaintext: Uint8Array; objectKey: string; kek: { id: string; key: Uint8Array } };

export type CryptoReply =
  /** `plaintext` over a SharedArrayBuffer: posted on, it is shared, never copied. */
  | { ok: true; plaintext: Uint8Array; header: JweHeader; sha256: string }
  /** The sealed object in the pieces sealObject made, each moved with its own memory. */
  | { ok: true; sealed: Uint8Array[] }
  | { ok: false; code: ErrorCode; detail: string | Localized | undefined; extra: Record<string, unknown> | undefined };

/** A Node Buffer over the same bytes (a Uint8Array arrives from the other thread). */
function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Whether the view is all of its ArrayBuffer, so handing it over detaches nothing else (small Buffers share a pool); shared memory is never moved. */
export function ownsBuffer(bytes: Uint8Array): boolean {
  return bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
}

/** A view whose ArrayBuffer is its own. */
function ownBytes(bytes: Uint8Array): Uint8Array {
  return ownsBuffer(bytes) ? bytes : new Uint8Array(bytes);
}

/** The reply with its large bytes moved, not copied, to the event loop. */
function moved(reply: CryptoReply, bytes: Uint8Array[]): unknown {
  return move({ [transferableSymbol]: bytes.map((piece) => piece.buffer), [valueSymbol]: reply });
}

async function run(task: CryptoTask): Promise<unknown> {
  if (task.kind === 'decrypt') {
    const { plaintext, header } = await decryptPart(bufferOf(task.compact), new IngestKeyRing(task.keys), { maxBytes: task.maxBytes, sharedPlaintext: true });
    // Hashed here, once: the idempotency fingerprint and the original's record both use it.
    const sha256 = createHash('sha256').update(plaintext).digest('hex');
    return { ok: true, plaintext, header, sha256 } satisfies CryptoReply;
  }
  // The pieces as they are, not joined: one copy of the whole object less, and the store writes them with one writev.
  const sealed = sealObject(task.plaintext, task.objectKey, { id: task.kek.id, key: bufferOf(task.kek.key) }).map(ownBytes);
  return moved({ ok: true, sealed }, sealed);
}

export default async function (task: CryptoTask): Promise<unknown> {
  try {
    return await run(task);
  } catch (err) {
    if (isAppError(err)) return { ok: false, code: err.code, detail: err.texts ?? err.detail, extra: err.extra } satisfies CryptoReply;
    throw err;
  }
}
