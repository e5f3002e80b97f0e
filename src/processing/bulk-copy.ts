/**
 * pdf-lib writes a stream's contents into the output one byte at a time in JavaScript: ~20 ms for a
 * 6 MB camera JPEG, as much again for a scanned PDF's page images. Large streams get one bulk copy;
 * the bytes written are the same.
 */
import { PDFRawStream, copyStringIntoBuffer, type PDFContext } from 'pdf-lib';

/** Below this the byte loop costs less than it matters. */
const BULK_MIN_BYTES = 16 * 1024;

function copyInBulk(this: PDFRawStream, buffer: Uint8Array, offset: number): number {
  this.updateDict();
  let at = offset + this.dict.copyBytesInto(buffer, offset);
  at += copyStringIntoBuffer('\nstream\n', buffer, at);
  buffer.set(this.contents, at);
  at += this.contents.length;
  at += copyStringIntoBuffer('\nendstream', buffer, at);
  return at - offset;
}

/** Call right before `save()` (after `flush()`, which creates the image streams). */
export function bulkCopyLargeStreams(context: PDFContext): void {
  for (const [, object] of context.enumerateIndirectObjects()) {
    if (object instanceof PDFRawStream && object.contents.length >= BULK_MIN_BYTES) object.copyBytesInto = copyInBulk;
  }
}
