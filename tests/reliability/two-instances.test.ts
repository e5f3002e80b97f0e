/**
 * Two service processes on one S3 bucket, keys handed to both through the environment as in
 * production: either instance continues, replays and verifies what the other began.
 */
import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { keysEnv, s3Env, startService, type ServiceProcess } from '../support/service-process.ts';
import { clerk, devToken, encryptedCapture, ingestKey, postCapture, readBack, sha256 } from '../support/service-client.ts';
import { jpegWithMarker, newMarker } from '../support/capture-fixtures.ts';
import { tusMetadata, TUS_HEADERS } from '../support/tus.ts';
import { uniqueBucket } from '../support/s3.ts';
import { encryptFor } from '../../src/cli/encrypt.ts';

describe(`two service processes on one bucket (${inject('s3').label})`, () => {
  let a: ServiceProcess;
  let b: ServiceProcess;
  /** Each instance issues its own development tokens; in production both trust one OIDC issuer. */
  const token = new Map<ServiceProcess, string>();
  let key: JWK;

  beforeAll(async () => {
    const env = { ...s3Env(inject('s3'), uniqueBucket('two')), ...(await keysEnv()) };
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
    const fromEnv = ['storage-keks.json', 'ingest.jwks.json', 'view-tickets.json'];
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
});
