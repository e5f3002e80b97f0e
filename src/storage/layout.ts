/** Where things live in the object store. Keys carry ids only, never document content. */
export const layout = {
  record: (id: string) => `documents/${id}/record`,
  rendition: (id: string) => `documents/${id}/rendition`,
  original: (id: string, part: number) => `documents/${id}/original/${part}`,
  originalsPrefix: (id: string) => `documents/${id}/original/`,
  documentPrefix: (id: string) => `documents/${id}/`,
  documentsPrefix: 'documents/',
  feedEntry: (seq: string) => `feed/${seq}`,
  feedPrefix: 'feed/',
  idempotency: (hash: string) => `idempotency/${hash}`,
  uploadInfo: (id: string) => `uploads/${id}/info`,
  // Zero-padded so the lexicographic listing is in offset order.
  uploadChunk: (id: string, offset: number) => `uploads/${id}/chunk/${String(offset).padStart(16, '0')}`,
  uploadChunkPrefix: (id: string) => `uploads/${id}/chunk/`,
  uploadPrefix: (id: string) => `uploads/${id}/`,
  uploadsPrefix: 'uploads/',
  sweepCursor: 'maintenance/orphan-sweep',
} as const;

/** ULIDs: 26 Crockford base32 characters; anything else is not one of our ids. */
export const ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;
