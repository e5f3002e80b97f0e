/**
 * The one loader of the service's keys (storage and search rings, ingest ring, manifest and view-ticket keys):
 * one source shape, and a kind per key that names its variables, its development file and its JSON.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadOrCreateKeyFile } from './key-file.ts';

/** Where a key comes from, as config.ts makes it from the environment; the first form given wins. */
export interface KeySource {
  /** The variable's content, e.g. STORAGE_KEYS. */
  json?: string;
  /** A file holding that content (the variable's _FILE). */
  file?: string;
  /** A directory of `*.json` files, read in name order (INGEST_KEYS_DIR). */
  dir?: string;
  /** Outside production: the key is generated once into `<devDataDir>/keys/<devFile>`. */
  devDataDir?: string;
}

/** One form's parsed JSON; `origin` names where it came from, since errors must never echo key material. */
export interface KeyPart {
  /** undefined when the text is not JSON (JSON.parse's own error would quote the secret). */
  value: unknown;
  origin: string;
}

/** At least one part. */
export type KeyParts = readonly [KeyPart, ...KeyPart[]];

export interface KeyKind<T> {
  /** The variable holding the JSON, e.g. STORAGE_KEYS. */
  variable: string;
  /** The variable of its other form: `${variable}_FILE` for a file, or a directory (`dir` sources). */
  other: { file: string } | { dir: string };
  /** How errors name the variable's content, if not by the variable. */
  label?: string;
  /** The file under `<devDataDir>/keys` a development key is kept in. */
  devFile: string;
  /** Builds the key from its parts: one, or one per file of a directory; throws naming origins, never values. */
  parse(parts: KeyParts): T;
  /** A fresh key's JSON, for the development file. */
  generate(): Promise<unknown>;
}

/** A key of one JSON value: the variable holds it, the variable's _FILE a file of it. */
export interface FileFormKind<T> extends Omit<KeyKind<T>, 'other' | 'parse'> {
  parse(value: unknown, origin: string): T;
}

export function withFileForm<T>(kind: FileFormKind<T>): KeyKind<T> {
  return { ...kind, other: { file: `${kind.variable}_FILE` }, parse: ([part]) => kind.parse(part.value, part.origin) };
}

/** The key from the first form the source gives; a form the kind lacks (a directory of storage keys) is not one. */
export async function loadKey<T>(source: KeySource, kind: KeyKind<T>): Promise<T> {
  const other = 'file' in kind.other ? kind.other.file : kind.other.dir;
  if (source.json) return kind.parse([{ value: parseSecretJson(source.json), origin: kind.label ?? kind.variable }]);
  if (source.file && 'file' in kind.other) return kind.parse([await readPart(source.file, `${other} (${source.file})`)]);
  if (source.dir && 'dir' in kind.other) return kind.parse(await readDir(source.dir, `${other} (${source.dir})`));
  if (!source.devDataDir) throw new Error(`no keys configured: set ${kind.variable} or ${other}`);
  const file = devKeyFile(kind, source.devDataDir);
  return kind.parse([{ value: await loadOrCreateKeyFile(file, kind.generate), origin: file }]);
}

/** Where a kind's development key lives under a data directory (also where `keys:generate` puts it). */
export function devKeyFile(kind: KeyKind<unknown>, dataDir: string): string {
  return path.join(dataDir, 'keys', kind.devFile);
}

/** The value is a secret: undefined instead of JSON.parse's error, which quotes its input. */
export function parseSecretJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function readPart(file: string, origin: string): Promise<KeyPart> {
  return { value: parseSecretJson(await readFile(file, 'utf8')), origin };
}

async function readDir(dir: string, origin: string): Promise<KeyParts> {
  const files = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort().map((name) => path.join(dir, name));
  const [first, ...rest] = await Promise.all(files.map((file) => readPart(file, file)));
  if (!first) throw new Error(`${origin} holds no *.json key file`);
  return [first, ...rest];
}
