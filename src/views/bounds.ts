/** The page and thumbnail widths the service renders, shared with the viewer (imports nothing, so the browser bundle can take it). */
/** Page widths the viewer may ask for: below is unreadable, above costs more than any screen shows. */
export const PAGE_WIDTH = { min: 400, max: 2000 } as const;
/** Thumbnail widths for lists: small enough that a row of them costs little, at most a hint of the content. */
export const THUMBNAIL_WIDTH = { min: 80, max: 320, default: 160 } as const;
