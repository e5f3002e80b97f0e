/**
 * The one loader of the service's own signing keys (manifest, view tickets): one source shape, the variable's
 * JSON, its _FILE, or outside production a key generated once into the data directory.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { JWK } from 'jose';
import { loadOrCreateKeyFile } from './key-file.ts';

/** Where a key comes from: `json` (the variable), `file` (the variable's _FILE), or `devDataDir` outside production. */
export interface KeySource {
  json?: string;
  file?: string;
  devDataDir?: string;
}

export interface PrivateKeyKind {
  /** The variable, e.g. MANIFEST_SIGNING_KEY; its file form is the same name with _FILE. */
  variable: string;
  /** The file under DATA_DIR/keys a development key is kept in. */
  devFile: string;
  /** Checks the parsed JSON; throws naming `variable`, never echoing the value. */
  parse(raw: unknown, variable: string): JWK;
  generate(): Promise<JWK>;
}

export async function loadPrivateKey(source: KeySource, kind: PrivateKeyKind): Promise<JWK> {
  if (source.json) return kind.parse(parseSecretJson(source.json), kind.variable);
  if (source.file) return kind.parse(parseSecretJson(await readFile(source.file, 'utf8')), `${kind.variable}_FILE`);
  if (!source.devDataDir) throw new Error(`${kind.variable} or ${kind.variable}_FILE is required`);
  return loadOrCreateKeyFile(path.join(source.devDataDir, 'keys', kind.devFile), kind.generate);
}

/** The value is a secret: undefined instead of JSON.parse's error, which quotes its input. */
function parseSecretJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
