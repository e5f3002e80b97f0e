/**
 * `npm run keys:generate -- <dir>`: every key a production instance needs, generated once into
 * <dir> (files 0600; existing files are kept, so running it again changes nothing). The Docker
 * setup runs it as an init step; point the service at the files it lists.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { SEARCH_KEY_RING, STORAGE_KEY_RING } from '../src/keys/kek-ring.ts';
import { INGEST_KEYS } from '../src/keys/ingest-keys.ts';
import { devKeyFile, loadKey, type KeyKind } from '../src/keys/key-source.ts';
import { loadOrCreateKeyFile } from '../src/keys/key-file.ts';
import { MANIFEST_KEY } from '../src/documents/manifest.ts';
import { VIEW_TICKET_KEY } from '../src/views/tickets.ts';

/** Where each key lands under <dir>, by the variable that names it. */
export function keyFiles(dir: string) {
  return {
    STORAGE_KEYS_FILE: devKeyFile(STORAGE_KEY_RING, dir),
    SEARCH_KEYS_FILE: devKeyFile(SEARCH_KEY_RING, dir),
    INGEST_KEYS_DIR: path.join(dir, 'ingest'),
    VIEW_TICKET_KEY_FILE: devKeyFile(VIEW_TICKET_KEY, dir),
    MANIFEST_SIGNING_KEY_FILE: devKeyFile(MANIFEST_KEY, dir),
  };
}

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: npm run keys:generate -- <directory>');
  // The development loaders generate exactly these files when they are missing, and only then.
  const kinds: KeyKind<unknown>[] = [STORAGE_KEY_RING, SEARCH_KEY_RING, VIEW_TICKET_KEY, MANIFEST_KEY];
  for (const kind of kinds) await loadKey({ devDataDir: dir }, kind);
  // The ingest keys in their directory form, read back as the service will read them.
  const ingestDir = keyFiles(dir).INGEST_KEYS_DIR;
  await loadOrCreateKeyFile(path.join(ingestDir, INGEST_KEYS.devFile), INGEST_KEYS.generate);
  await loadKey({ dir: ingestDir }, INGEST_KEYS);
  for (const [variable, file] of Object.entries(keyFiles(path.resolve(dir)))) process.stdout.write(`${variable}=${file}\n`);
}

// Run as a program only; tests import keyFiles().
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    process.stderr.write(`generating keys failed: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
