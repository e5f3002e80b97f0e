import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { Declared } from './formats.ts';

/** Longest run of bytes a declaration spans; kept between chunks so none is missed at a boundary. */
const OVERLAP = 256;
const PART = /pdfaid:part(?:>\s*|\s*=\s*["'])(\d)/;
const CONFORMANCE = /pdfaid:conformance(?:>\s*|\s*=\s*["'])([ABUabu])/;
const HEADER = /^%PDF-(\d\.\d)/;

/** What a file turned out to be while it passed into the ZIP: its digest, size and declarations. */
export interface Inspection {
  sha256: string;
  size: number;
  declared: Declared;
}

/**
 * Passes bytes through unchanged while hashing them and reading the PDF header version and the
 * XMP PDF/A identification (pdfaid part and conformance), so the message describes the bytes
 * that are actually in the ZIP. `done` resolves when the last byte passed.
 */
export function inspector(): { stream: Transform; done: Promise<Inspection> } {
  const hash = createHash('sha256');
  let size = 0;
  let tail = '';
  let head = '';
  let part: string | undefined;
  let conformance: string | undefined;
  let settle!: (inspection: Inspection) => void;
  let fail!: (err: unknown) => void;
  const done = new Promise<Inspection>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  // Whoever awaits `done` sees a failure; an unobserved one must not crash the process.
  done.catch(() => undefined);
  const stream = new Transform({
    transform(chunk: Buffer, _enc, callback: TransformCallback) {
      hash.update(chunk);
      size += chunk.length;
      const text = chunk.toString('latin1');
      if (head.length < 16) head = (head + text).slice(0, 16);
      const window = tail + text;
      part ??= PART.exec(window)?.[1];
      conformance ??= CONFORMANCE.exec(window)?.[1];
      tail = window.slice(-OVERLAP);
      callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      const pdfVersion = HEADER.exec(head)?.[1];
      settle({
        sha256: hash.digest('hex'),
        size,
        declared: { ...(pdfVersion ? { pdfVersion } : {}), ...(part && conformance ? { pdfa: { part, conformance } } : {}) },
      });
      callback();
    },
  });
  stream.once('error', fail);
  stream.once('close', () => fail(new Error('inspected stream closed before its end')));
  return { stream, done };
}
