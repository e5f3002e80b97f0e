import { AppError } from '../kernel/errors.ts';
import { checkProtectedHeader } from '../crypto/jwe.ts';

/** A protected header longer than this is refused by the decryptor too, so waiting for more bytes is pointless. */
const MAX_HEADER_CHARS = 16 * 1024;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Checks that `prefix`, the first bytes of an upload, starts a JWE compact serialization of the
 * allowed profile. An incomplete header is accepted until `complete` says no more bytes follow.
 */
export function checkJwePrefix(prefix: Buffer, complete: boolean): void {
  const dot = prefix.indexOf(0x2e);
  if (dot !== -1) {
    checkProtectedHeader(prefix.toString('latin1', 0, dot));
    return;
  }
  const partial = prefix.toString('latin1', 0, Math.min(prefix.length, MAX_HEADER_CHARS + 1));
  if (!complete && partial.length <= MAX_HEADER_CHARS && BASE64URL.test(partial)) return;
  throw new AppError('jwe_invalid', {
    detail: {
      de: 'Der Upload ist keine JWE-Compact-Serialisierung: fortsetzbare Uploads enthalten nur Chiffretext. Verschlüsseln Sie die Datei zuerst mit einem Schlüssel aus GET /v1/keys.',
      en: 'The upload is not a JWE compact serialization: resumable uploads carry only ciphertext. Encrypt the file to a key from GET /v1/keys first.',
    },
  });
}
