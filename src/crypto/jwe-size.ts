/** The size rule of the ingest JWE profile: how large a compact JWE of a plaintext bound may be. */

/** JWE compact adds base64url (4/3) plus header, key and tag; allow that on top of the plaintext limit. */
export function encryptedSizeBound(plainBytes: number): number {
  return Math.ceil((plainBytes * 4) / 3) + 64 * 1024;
}
