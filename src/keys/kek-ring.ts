import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { parseSecretJson, withFileForm, type KeyKind } from './key-source.ts';

/** A key-encryption key: wraps the per-object data keys of the at-rest format. */
export interface Kek {
  /** Names the key inside every object it wrapped; 1 to 32 characters of A-Z a-z 0-9 . _ - */
  readonly id: string;
  /** 32 bytes (AES-256). */
  readonly key: Buffer;
}

/** What the at-rest format needs from a ring: the key for writing and a lookup for reading. */
export interface KekLookup {
  readonly active: Kek;
  find(id: string): Kek | undefined;
}

export const KEK_ID_PATTERN = /^[A-Za-z0-9._-]{1,32}$/;
const KEK_BYTES = 32;

const ringSchema = z.object({
  keys: z.array(z.object({ id: z.string().regex(KEK_ID_PATTERN), key: z.string() })).min(1),
});

/** The JSON form, as in STORAGE_KEYS / STORAGE_KEYS_FILE: {"keys":[{"id","key":"<base64 32 bytes>"}]}, newest last. */
export type KekRingJson = z.infer<typeof ringSchema>;

/** Key-encryption keys by id; the last one is active for writes, every one is accepted for reads. */
export class KekRing implements KekLookup {
  readonly active: Kek;
  private readonly byId = new Map<string, Kek>();

  constructor(keys: readonly Kek[]) {
    for (const kek of keys) {
      if (!KEK_ID_PATTERN.test(kek.id)) throw new Error(`key-encryption key id ${JSON.stringify(kek.id)} must match ${KEK_ID_PATTERN}`);
      if (kek.key.length !== KEK_BYTES) throw new Error(`key-encryption key ${kek.id} must be ${KEK_BYTES} bytes`);
      if (this.byId.has(kek.id)) throw new Error(`key-encryption key id ${kek.id} appears twice`);
      this.byId.set(kek.id, kek);
    }
    const active = keys.at(-1);
    if (!active) throw new Error('a key ring needs at least one key-encryption key');
    this.active = active;
  }

  find(id: string): Kek | undefined {
    return this.byId.get(id);
  }

  get ids(): string[] {
    return [...this.byId.keys()];
  }

  toJSON(): KekRingJson {
    return { keys: [...this.byId.values()].map((k) => ({ id: k.id, key: k.key.toString('base64') })) };
  }
}

/** A fresh random key-encryption key, e.g. to append for rotation. */
export function generateKek(id: string): Kek {
  return { id, key: randomBytes(KEK_BYTES) };
}

/** Parses the JSON form; `source` names where it came from, since errors must never echo key material. */
export function parseKekRing(json: string, source: string): KekRing {
  return kekRingOf(parseSecretJson(json), source);
}

function kekRingOf(value: unknown, source: string): KekRing {
  if (value === undefined) throw new Error(`${source}: not valid JSON`);
  const parsed = ringSchema.safeParse(value);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => i.path.join('.') || '(root)').join(', ');
    throw new Error(`${source}: expected {"keys":[{"id":"<${KEK_ID_PATTERN.source}>","key":"<base64 of 32 bytes>"}]}; wrong at ${where}`);
  }
  return new KekRing(parsed.data.keys.map(({ id, key }) => ({ id, key: decodeKey(key, id, source) })));
}

function decodeKey(base64: string, id: string, source: string): Buffer {
  const key = Buffer.from(base64, 'base64');
  if (key.length !== KEK_BYTES || key.toString('base64') !== base64.replace(/\s/g, '')) {
    throw new Error(`${source}: key ${id} must be the standard base64 of exactly ${KEK_BYTES} bytes`);
  }
  return key;
}

/** A ring in STORAGE_KEYS' JSON form; the search keys share it. */
function ringKind(variable: string, devFile: string): KeyKind<KekRing> {
  return withFileForm({ variable, devFile, parse: kekRingOf, generate: async (): Promise<KekRingJson> => new KekRing([generateKek(devKekId())]).toJSON() });
}

export const STORAGE_KEY_RING = ringKind('STORAGE_KEYS', 'storage-keks.json');
export const SEARCH_KEY_RING = ringKind('SEARCH_KEYS', 'search-keys.json');

/** e.g. "dev-20261127": says what it is and when it was made. */
function devKekId(): string {
  return `dev-${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`;
}
