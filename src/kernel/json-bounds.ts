import { AppError, type Localized } from './errors.ts';

/** Plaintext bound of the metadata JSON, however its part is sent (field or file, plain or JWE). */
export const METADATA_MAX_BYTES = 64 * 1024;
/** Deeper than any valid metadata (an object holding `device`); deep nesting only costs parse time. */
export const METADATA_MAX_DEPTH = 8;

/**
 * Refuses JSON text over `maxBytes` or nested deeper than `maxDepth` before JSON.parse sees it, so a
 * hostile part cannot hold the event loop. One linear pass that skips string contents.
 */
export function checkJsonBounds(text: string, what: Localized, maxBytes = METADATA_MAX_BYTES, maxDepth = METADATA_MAX_DEPTH): void {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) {
    throw new AppError('payload_too_large', {
      detail: {
        de: `${what.de}: ${bytes} Bytes, höchstens ${maxBytes} werden angenommen. Kürzen Sie die Angaben.`,
        en: `${what.en} has ${bytes} bytes; at most ${maxBytes} are accepted.`,
      },
      extra: { limit: maxBytes },
    });
  }
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) {
        throw new AppError('validation_failed', {
          detail: {
            de: `${what.de}: tiefer als ${maxDepth} Ebenen verschachtelt; senden Sie das flache Metadaten-Objekt, das openapi.yaml beschreibt.`,
            en: `${what.en} is nested deeper than ${maxDepth} levels; send the flat metadata object described in openapi.yaml.`,
          },
        });
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}
