/**
 * A container app's side of the API over real HTTP (fetch + FormData), with the reference client's
 * JWE code: for tests and benches that talk to a service process.
 */
import { createHash } from 'node:crypto';
import type { JWK } from 'jose';
import { encryptFor, pickIngestKey } from '../client/encrypt.ts';
import { fetchJson } from '../client/http.ts';

export interface User {
  sub: string;
  roles: string[];
  units: string[];
}

/** A capture clerk of one unit who may also read and export, so tests can check what was stored. */
export function clerk(sub: string, unit = 'BA-Nord'): User {
  return { sub, roles: ['capture', 'read', 'export'], units: [unit] };
}

export async function devToken(url: string, user: User): Promise<string> {
  const issued = await fetchJson<{ access_token: string }>(`${url}/v1/dev/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(user),
  });
  return issued.access_token;
}

/** The service's P-256 ingest key from GET /v1/keys. */
export async function ingestKey(url: string): Promise<JWK> {
  return pickIngestKey(await fetchJson<{ keys: JWK[] }>(`${url}/v1/keys`), 'P-256');
}

/** A capture body as the container app sends it: metadata and each file as JWE for `key`. */
export async function encryptedCapture(key: JWK, title: string, files: Uint8Array[], mediaType = 'image/jpeg'): Promise<FormData> {
  const form = new FormData();
  form.append('metadata', await encryptFor(key, Buffer.from(JSON.stringify({ title, source: 'camera' })), 'application/json'));
  for (const [i, file] of files.entries()) {
    form.append('file', new Blob([await encryptFor(key, file, mediaType)], { type: 'application/jose' }), `part-${i + 1}`);
  }
  return form;
}

export function postCapture(url: string, token: string, body: FormData, idempotencyKey?: string): Promise<Response> {
  const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
  return fetch(`${url}/v1/documents`, { method: 'POST', headers, body });
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface StoredDocument {
  id: string;
  rendition: { sha256: string };
  originals: Array<{ part: number; sha256: string }>;
}

/**
 * Reads a document back: its record, and the sha256 of its rendition and each original as served;
 * fails unless every served byte matches the hash its record names.
 */
export async function readBack(url: string, token: string, id: string): Promise<{ record: StoredDocument; originals: string[] }> {
  const headers = { Authorization: `Bearer ${token}` };
  const record = await fetchJson<StoredDocument>(`${url}/v1/documents/${id}`, { headers });
  const served = async (query: string) => {
    const res = await fetch(`${url}/v1/documents/${id}/content${query}`, { headers });
    if (res.status !== 200) throw new Error(`GET content${query} of ${id}: ${res.status} ${await res.text()}`);
    return sha256(new Uint8Array(await res.arrayBuffer()));
  };
  const rendition = await served('');
  if (rendition !== record.rendition.sha256) throw new Error(`rendition of ${id} does not match its record's sha256`);
  const originals: string[] = [];
  for (const original of record.originals) {
    const hash = await served(`?variant=original&part=${original.part}`);
    if (hash !== original.sha256) throw new Error(`original ${original.part} of ${id} does not match its record's sha256`);
    originals.push(hash);
  }
  return { record, originals };
}

/** Every document id the archive feed lists, following `next` to the end. */
export async function feedIds(url: string, token: string): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (;;) {
    const query: string = after ? `?limit=100&after=${after}` : '?limit=100';
    const page = await fetchJson<{ items: Array<{ id: string }>; next: string | null; hasMore: boolean }>(`${url}/v1/documents${query}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    ids.push(...page.items.map((item) => item.id));
    if (!page.hasMore) return ids;
    after = page.next;
  }
}
