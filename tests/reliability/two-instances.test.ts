/**
 * Two service processes on one S3 bucket and one PostgreSQL database, keys handed to both through
 * the environment as in production: either instance continues, replays and verifies what the other began.
 */
import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { keysEnv, s3Env, startService, type ServiceProcess } from '../../testkit/service-process.ts';
import { clerk, devToken, encryptedCapture, ingestKey, postCapture, readBack, sha256 } from '../../testkit/service-client.ts';
import { jpegWithMarker, newMarker } from '../../testkit/capture-fixtures.ts';
import { tusMetadata, TUS_HEADERS } from '../support/tus.ts';
import { uniqueBucket } from '../../testkit/s3.ts';
import { freshDatabaseUrl } from '../../testkit/database.ts';
import { encryptFor } from '../../client/encrypt.ts';
import { setTimeout as sleep } from 'node:timers/promises';

describe(`two service processes on one bucket and one PostgreSQL (${inject('s3').label})`, () => {
  let a: ServiceProcess;
  let b: ServiceProcess;
  /** Each instance issues its own development tokens; in production both trust one OIDC issuer. */
  const token = new Map<ServiceProcess, string>();
  let key: JWK;

  beforeAll(async () => {
    const env = { ...s3Env(inject('s3'), uniqueBucket('two')), ...(await keysEnv()), DATABASE_URL: await freshDatabaseUrl() };
    [a, b] = await Promise.all([startService(env), startService(env)]);
    for (const instance of [a, b]) token.set(instance, await devToken(instance.url, clerk('alice')));
    key = await ingestKey(a.url);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  const auth = (instance: ServiceProcess) => ({ Authorization: `Bearer ${token.get(instance)!}` });

  it('publishes the same ingest keys and generates none of its own', async () => {
    expect(await ingestKey(b.url)).toEqual(key);
    const fromEnv = ['storage-keks.json', 'search-keys.json', 'ingest.jwks.json', 'view-tickets.json'];
    for (const instance of [a, b]) {
      const generated = await readdir(path.join(instance.dataDir, 'keys'));
      expect(generated).toContain('dev-issuer.json');
      expect(generated.filter((file) => fromEnv.includes(file))).toEqual([]);
    }
  });

  it('finishes on one instance a tus upload begun on the other, and captures it there', async () => {
    const photo = await jpegWithMarker(newMarker(), 800, 600);
    const jwe = Buffer.from(await encryptFor(key, photo, 'image/jpeg'));
    const half = Math.floor(jwe.length / 2);
    const created = await fetch(`${a.url}/v1/uploads`, {
      method: 'POST',
      headers: { ...TUS_HEADERS, ...auth(a), 'Upload-Length': String(jwe.length), 'Upload-Metadata': tusMetadata({ filetype: 'application/jose' }) },
    });
    expect(created.status).toBe(201);
    const uploadPath = new URL(created.headers.get('location')!, a.url).pathname;
    const patch = (instance: ServiceProcess, offset: number, bytes: Buffer) =>
      fetch(`${instance.url}${uploadPath}`, {
        method: 'PATCH',
        headers: { ...TUS_HEADERS, ...auth(instance), 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream' },
        body: new Uint8Array(bytes),
      });
    expect((await patch(a, 0, jwe.subarray(0, half))).status).toBe(204);

    const head = await fetch(`${b.url}${uploadPath}`, { method: 'HEAD', headers: { ...TUS_HEADERS, ...auth(b) } });
    expect(head.headers.get('upload-offset')).toBe(String(half));
    const finished = await patch(b, half, jwe.subarray(half));
    expect([finished.status, finished.headers.get('upload-offset')]).toEqual([204, String(jwe.length)]);

    const form = await encryptedCapture(key, 'Resumed elsewhere', []);
    form.append('upload', uploadPath.split('/').pop()!);
    const captured = await postCapture(b.url, token.get(b)!, form);
    expect(captured.status).toBe(201);
    const { originals } = await readBack(a.url, token.get(a)!, ((await captured.json()) as { id: string }).id);
    expect(originals).toEqual([sha256(photo)]);
  });

  it('answers an idempotent retry sent to the other instance with the same document', async () => {
    const photo = await jpegWithMarker(newMarker(), 320, 240);
    const idempotencyKey = randomUUID();
    const first = await postCapture(a.url, token.get(a)!, await encryptedCapture(key, 'Retried', [photo]), idempotencyKey);
    expect(first.status).toBe(201);
    // The retry is encrypted afresh, as a client re-sending after a lost answer does.
    const retry = await postCapture(b.url, token.get(b)!, await encryptedCapture(key, 'Retried', [photo]), idempotencyKey);
    expect([retry.status, retry.headers.get('idempotent-replayed')]).toEqual([201, 'true']);
    expect(((await retry.json()) as { id: string }).id).toBe(((await first.json()) as { id: string }).id);
  });

  it('accepts on one instance a view ticket the other issued', async () => {
    const created = await postCapture(a.url, token.get(a)!, await encryptedCapture(key, 'Viewed elsewhere', [await jpegWithMarker(newMarker(), 320, 240)]));
    const { id } = (await created.json()) as { id: string };
    const issued = await fetch(`${a.url}/v1/documents/${id}/views`, { method: 'POST', headers: auth(a) });
    const { ticket } = (await issued.json()) as { ticket: string };
    const viewer = { Authorization: `Ticket ${ticket}` };

    const info = await fetch(`${b.url}/view-api/documents/${id}`, { headers: viewer });
    expect([info.status, ((await info.json()) as { documentId: string }).documentId]).toEqual([200, id]);
    const page = await fetch(`${b.url}/view-api/documents/${id}/pages/1?width=800`, { headers: viewer });
    expect([page.status, page.headers.get('content-type')]).toEqual([200, expect.stringMatching(/^image\//)]);
    const forged = await fetch(`${b.url}/view-api/documents/${id}`, { headers: { Authorization: `Ticket ${ticket.slice(0, -4)}AAAA` } });
    expect(forged.status).toBe(401);
  });

  it('takes 200 concurrent captures, 50 sent twice with one key to both instances at once: 150 documents, one per key, each seen once by a feed poller', async () => {
    const unit = `BA-${randomUUID().slice(0, 8)}`;
    const user = clerk(`load-${unit}`, unit);
    const tokens = new Map<ServiceProcess, string>([
      [a, await devToken(a.url, user)],
      [b, await devToken(b.url, user)],
    ]);
    const photo = await jpegWithMarker(newMarker(), 320, 240);
    const send = (instance: ServiceProcess, title: string, idempotencyKey?: string) =>
      retryWhileBusy(async () => postCapture(instance.url, tokens.get(instance)!, await encryptedCapture(key, title, [photo]), idempotencyKey));

    const served: string[] = [];
    let running = true;
    const poller = (async () => {
      let after: string | null = null;
      for (let i = 0; ; i++) {
        const finished = !running;
        const instance = i % 2 ? b : a;
        const query: string = `?limit=20&unit=${unit}${after ? `&after=${after}` : ''}`;
        const page = (await (await fetch(`${instance.url}/v1/documents${query}`, { headers: { Authorization: `Bearer ${tokens.get(instance)!}` } })).json()) as {
          items: Array<{ id: string }>;
          next: string | null;
          hasMore: boolean;
        };
        served.push(...page.items.map((d) => d.id));
        after = page.next;
        if (finished && !page.hasMore) return;
      }
    })();

    const jobs: Array<() => Promise<{ kind: 'single'; id: string } | { kind: 'pair'; ids: string[]; replayed: number }>> = [];
    for (let i = 0; i < 100; i++) {
      jobs.push(async () => ({ kind: 'single', id: await createdId(await send(i % 2 ? b : a, `Einzeln ${i}`)) }));
    }
    for (let i = 0; i < 50; i++) {
      jobs.push(async () => {
        const idempotencyKey = randomUUID();
        const answers = await Promise.all([send(a, `Doppelt ${i}`, idempotencyKey), send(b, `Doppelt ${i}`, idempotencyKey)]);
        const replayed = answers.filter((r) => r.headers.get('idempotent-replayed') === 'true').length;
        return { kind: 'pair', ids: await Promise.all(answers.map(createdId)), replayed };
      });
    }
    const results = await runConcurrently(jobs, 8);
    running = false;
    await poller;

    const pairs = results.flatMap((r) => (r.kind === 'pair' ? [r] : []));
    for (const pair of pairs) {
      expect(pair.ids[0]).toBe(pair.ids[1]);
      expect(pair.replayed).toBe(1);
    }
    const documents = new Set([...results.flatMap((r) => (r.kind === 'single' ? [r.id] : [])), ...pairs.map((p) => p.ids[0]!)]);
    expect(documents.size).toBe(150);
    expect(served).toHaveLength(new Set(served).size);
    expect(new Set(served)).toEqual(documents);
  });
});

/** Retries a capture the way a client honouring the protocol does: on 503 (busy) and 409 (same key in progress), after Retry-After. */
async function retryWhileBusy(post: () => Promise<Response>): Promise<Response> {
  for (;;) {
    const res = await post();
    if (res.status !== 503 && res.status !== 409) return res;
    await res.arrayBuffer();
    await sleep(Number(res.headers.get('retry-after') ?? '1') * 1000);
  }
}

async function createdId(res: Response): Promise<string> {
  const body = (await res.json()) as { id?: string };
  if (res.status !== 201 || !body.id) throw new Error(`capture answered ${res.status}: ${JSON.stringify(body)}`);
  return body.id;
}

async function runConcurrently<T>(jobs: Array<() => Promise<T>>, width: number): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < jobs.length) {
        const index = next++;
        results[index] = await jobs[index]!();
      }
    }),
  );
  return results;
}
