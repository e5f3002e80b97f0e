import { once } from 'node:events';
import type { Readable } from 'node:stream';

/**
 * Resolves once a stored object's stream has bytes or ended; when it fails before that (integrity,
 * storage), releases it and rejects, so the caller can still answer with a problem instead of cut bytes.
 */
export async function firstBytes(body: Readable): Promise<void> {
  try {
    await once(body, 'readable');
  } catch (err) {
    body.destroy();
    throw err;
  }
}
