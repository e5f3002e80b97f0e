/**
 * `npm run keys:generate -- <dir>`: every key a production instance needs, generated once into
 * <dir> (files 0600; existing files are kept, so running it again changes nothing). The Docker
 * setup runs it as an init step; point the service at the files it lists.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadKekRing, SEARCH_KEY_RING } from '../src/keys/kek-ring.ts';
import { generateIngestJwks } from '../src/keys/ingest-keys.ts';
import { loadOrCreateKeyFile } from '../src/keys/key-file.ts';
import { loadManifestKey } from '../src/documents/manifest.ts';
import { loadViewTicketKey } from '../src/views/tickets.ts';

/** Where each key lands under <dir>, by the variable that names it. */
export function keyFiles(dir: string) {
  return {
    STORAGE_KEYS_FILE: path.join(dir, 'keys', 'storage-keks.json'),
    SEARCH_KEYS_FILE: SEARCH_KEY_RING.devFile(dir),
    INGEST_KEYS_DIR: path.join(dir, 'ingest'),
    VIEW_TICKET_KEY_FILE: path.join(dir, 'keys', 'view-tickets.json'),
    MANIFEST_SIGNING_KEY_FILE: path.join(dir, 'keys', 'manifest-signing.json'),
  };
}

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: npm run keys:generate -- <directory>');
  // The development loaders generate exactly these files when they are missing, and only then.
  await loadKekRing({ devDataDir: dir });
  await loadKekRing({ devDataDir: dir }, SEARCH_KEY_RING);
  await loadViewTicketKey({ devDataDir: dir });
  await loadManifestKey({ devDataDir: dir });
  await loadOrCreateKeyFile(path.join(keyFiles(dir).INGEST_KEYS_DIR, 'ingest.jwks.json'), async () => ({ keys: await generateIngestJwks() }));
  for (const [variable, file] of Object.entries(keyFiles(path.resolve(dir)))) process.stdout.write(`${variable}=${file}\n`);
}

// Run as a program only; tests import keyFiles().
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    process.stderr.write(`generating keys failed: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
