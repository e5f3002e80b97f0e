/** Where things live in the object store. Keys carry ids only, never document content. */
export const layout = {
  record: (id: string) => `documents/${id}/record`,
  rendition: (id: string) => `documents/${id}/rendition`,
  original: (id: string, part: number) => `documents/${id}/original/${part}`,
  documentPrefix: (id: string) => `documents/${id}/`,
  documentsPrefix: 'documents/',
  feedEntry: (seq: string) => `feed/${seq}`,
  feedPrefix: 'feed/',
  idempotency: (hash: string) => `idempotency/${hash}`,
} as const;

/** ULIDs: 26 Crockford base32 characters; anything else is not one of our ids. */
export const ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;
