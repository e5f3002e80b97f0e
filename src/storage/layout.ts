import { encodeTime } from 'ulid';
import { ULID_PATTERN } from '../kernel/ulid.ts';

/** Where things live in the object store (blobs only; metadata is in the database). Keys carry ids only, never document content. */
export const layout = {
  rendition: (id: string) => `documents/${id}/rendition`,
  /** The rendition with its OCR text layer, written by the job after the 201; the first one stays beside it. */
  textRendition: (id: string) => `documents/${id}/rendition-text`,
  original: (id: string, part: number) => `documents/${id}/original/${part}`,
  originalsPrefix: (id: string) => `documents/${id}/original/`,
  documentPrefix: (id: string) => `documents/${id}/`,
  documentsPrefix: 'documents/',
  uploadInfo: (id: string) => `uploads/${id}/info`,
  // Zero-padded so the lexicographic listing is in offset order.
  uploadChunk: (id: string, offset: number) => `uploads/${id}/chunk/${String(offset).padStart(16, '0')}`,
  uploadChunkPrefix: (id: string) => `uploads/${id}/chunk/`,
  uploadPrefix: (id: string) => `uploads/${id}/`,
  uploadsPrefix: 'uploads/',
  sweepCursor: 'maintenance/orphan-sweep',
} as const;

/** The smallest ULID of millisecond `ms`: keys below it were created earlier. */
export function ulidFloor(ms: number): string {
  return encodeTime(Math.max(0, ms), 10) + '0'.repeat(16);
}

/** ULIDs: 26 Crockford base32 characters; anything else is not one of our ids. */
export const ID_PATTERN = ULID_PATTERN;
