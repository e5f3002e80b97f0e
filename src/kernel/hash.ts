import { createHash } from 'node:crypto';

/** Hex SHA-256 (BSI TR-02102-1 approved) of the exact bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
