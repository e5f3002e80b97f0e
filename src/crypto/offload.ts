/**
 * The crypto pool: JWE decryption (with the plaintext's SHA-256) and at-rest sealing run in worker
 * threads, so the event loop only moves bytes (issue 13: it was the limit of capture throughput).
 * Inputs below INLINE_BYTES stay on the event loop: the thread hop would cost more than the work.
 * Tasks are bounded by the capture admission (slots and buffered bytes), not by a queue of their own.
 */
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { AppError } from '../kernel/errors.ts';
import { workerExecArgv } from '../kernel/worker-threads.ts';
import { sealObject } from './at-rest.ts';
import type { IngestKeyRing } from '../keys/ingest-keys.ts';
import { DEFAULT_MAX_JWE_BYTES, decryptPart, type DecryptedPart, type DecryptOptions } from './jwe.ts';
import type { Kek } from '../keys/kek-ring.ts';
import { ownsBuffer, type CryptoReply, type CryptoTask } from './offload-worker.ts';

/** Below this many bytes a part is decrypted or sealed inline. */
export const INLINE_BYTES = 64 * 1024;
/** How long a worker beyond the first stays without work. */
const IDLE_MS = 10 * 60_000;

export interface CryptoPool {
  /** decryptPart, and the SHA-256 (hex) of the plaintext, hashed in the same pass; from the pool the plaintext lies in shared memory (threads it is posted to read it in place). */
  decrypt(compact: Buffer, ring: IngestKeyRing, opts: DecryptOptions): Promise<DecryptedPart & { sha256: string }>;
  /** sealObject (at-rest.ts) for EncryptedStore; `handOver`: the plaintext may move to the worker (detached here). */
  seal(plaintext: Uint8Array, objectKey: string, kek: Kek, handOver?: boolean): Promise<Buffer[]>;
  close(): Promise<void>;
}

/** `threads`: default the machine's parallelism; the workers are idle between captures. */
export function createCryptoPool(options: { threads?: number | undefined } = {}): CryptoPool {
  const threads = options.threads ?? availableParallelism();
  const piscina = new Piscina({
    filename: new URL('./offload-worker.ts', import.meta.url).href,
    // One thread from the start, more while captures overlap; a started worker stays (loading it costs more than a decryption).
    minThreads: 1,
    maxThreads: threads,
    idleTimeout: IDLE_MS,
    execArgv: workerExecArgv(),
  });

  async function run(task: CryptoTask, transfer: Uint8Array[]): Promise<Exclude<CryptoReply, { ok: false }>> {
    const reply = (await piscina.run(task, { transferList: transfer.map((bytes) => bytes.buffer as ArrayBuffer) })) as CryptoReply;
    if (!reply.ok) throw new AppError(reply.code, { detail: reply.detail, ...(reply.extra ? { extra: reply.extra } : {}) });
    return reply;
  }

  return {
    async decrypt(compact, ring, opts) {
      if (compact.length < INLINE_BYTES) {
        const part = await decryptPart(compact, ring, opts);
        return { ...part, sha256: createHash('sha256').update(part.plaintext).digest('hex') };
      }
      // The ciphertext is not needed here afterwards: it moves to the worker when its memory is its own.
      const keys = ring.kids.map((kid) => ring.get(kid)!);
      const reply = await run({ kind: 'decrypt', compact, keys, maxBytes: opts.maxBytes ?? DEFAULT_MAX_JWE_BYTES }, ownsBuffer(compact) ? [compact] : []);
      if (!('plaintext' in reply)) throw new Error('crypto pool: a decryption answered without plaintext');
      const { plaintext, header, sha256 } = reply;
      return { plaintext: Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength), header, sha256 };
    },
    async seal(plaintext, objectKey, kek, handOver = false) {
      if (plaintext.byteLength < INLINE_BYTES) return sealObject(plaintext, objectKey, kek);
      // Moved when the caller hands it over and its memory is its own; read in place when shared (a decrypted part); copied otherwise (the caller still reads it).
      const reply = await run({ kind: 'seal', plaintext, objectKey, kek: { id: kek.id, key: kek.key } }, handOver && ownsBuffer(plaintext) ? [plaintext] : []);
      if (!('sealed' in reply)) throw new Error('crypto pool: a sealing answered without sealed bytes');
      return reply.sealed.map((piece) => Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength));
    },
    close: () => piscina.destroy(),
  };
}
