/**
 * A multipart part past its bound is refused mid-body (upload-limits.ts): the refused captures must
 * leave nothing behind (admission slots, held bytes, stored objects) and the next capture goes through.
 */
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JWK } from 'jose';
import { startTestApp, type TestApp } from '../../testkit/test-app.ts';
import { captureHead, sendPastRefusal } from '../../testkit/dos-attacks.ts';
import { jpegWithMarker, newMarker, pickKey } from '../../testkit/capture-fixtures.ts';
import { joseEncrypt } from '../../testkit/jwe-fixtures.ts';
import { encryptedSizeBound } from '../../src/crypto/jwe-size.ts';
import { METADATA_MAX_BYTES } from '../../src/kernel/json-bounds.ts';

const UNIT = 'BA-Nord';
const KiB = 1024;
const MAX_FILE_BYTES = 256 * KiB;

describe('early refusal of an oversized part', () => {
  let t: TestApp;
  let server: http.Server;
  let url: string;
  let token: string;

  beforeAll(async () => {
    t = await startTestApp({ MAX_FILE_BYTES: String(MAX_FILE_BYTES), MAX_CONCURRENT_UPLOADS: '2', MAX_CONCURRENT_UPLOADS_PER_USER: '2', MAX_REQUEST_BYTES: String(4096 * KiB) }, { metadata: 'PGlite' });
    server = http.createServer(t.app).listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    token = await t.token({ sub: 'u-cap', roles: ['capture', 'read'], units: [UNIT] });
  });
  afterAll(async () => {
    server?.closeAllConnections();
    server?.close();
    await t?.close();
  });

  const bomb = (head: Buffer, length: number, lang = 'de') =>
    sendPastRefusal(url, { path: '/v1/documents', headers: { authorization: `Bearer ${token}`, 'content-type': 'multipart/form-data; boundary=b', 'accept-language': lang }, length, head });

  it('a file part of exactly the JWE bound is read (and judged as a JWE), one byte more is 413; likewise the metadata part', async () => {
    const bound = encryptedSizeBound(MAX_FILE_BYTES);
    // A legitimate part of MAX_FILE_BYTES, to the key with the longest header (RSA-OAEP's wrapped key), fits the bound.
    const jwks = (await fetch(`${url}/v1/keys`).then((r) => r.json())) as { keys: JWK[] };
    expect((await joseEncrypt(pickKey(jwks, 'RSA-OAEP-256'), Buffer.alloc(MAX_FILE_BYTES, 1), { cty: 'application/pdf' })).length).toBeLessThanOrEqual(bound);
    // `sizes`: the parts of `field` (after a small metadata part unless they are the metadata).
    const send = (field: string, ...sizes: number[]) => {
      const form = new FormData();
      if (field !== 'metadata') form.append('metadata', JSON.stringify({ title: 'Grenze' }));
      for (const size of sizes) form.append(field, new Blob([Buffer.alloc(size, 0x61)], { type: 'application/jose' }), 'a.jwe');
      return fetch(`${url}/v1/documents`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'accept-language': 'en' }, body: form });
    };
    const at = await send('file', bound);
    expect(at.status, await at.clone().text()).toBe(400);
    // The bound holds per part, not for their sum.
    const two = await send('file', bound, bound);
    expect(two.status, await two.clone().text()).toBe(400);
    const past = await send('file', bound + 1);
    expect(past.status, await past.clone().text()).toBe(413);
    expect(((await past.json()) as { detail: string }).detail).toMatch(/^A file part exceeds the size limit/);
    const metaBound = encryptedSizeBound(METADATA_MAX_BYTES);
    const metaAt = await send('metadata', metaBound);
    expect(await metaAt.clone().text()).not.toMatch(/form field is too long/);
    const metaPast = await send('metadata', metaBound + 1);
    expect(metaPast.status, await metaPast.clone().text()).toBe(413);
    expect(((await metaPast.json()) as { detail: string }).detail).toMatch(/^A form field is too long/);
  });

  it('a second file part past the bound after a first good one: 413 at once', async () => {
    const first = `--b\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4 x\r\n`;
    const { head } = captureHead();
    const text = head.toString();
    const at = text.indexOf('--b', 3);
    const twoParts = Buffer.from(text.slice(0, at) + first + text.slice(at));
    const answer = await bomb(twoParts, 2048 * KiB, 'en');
    expect(answer).toMatchObject({ status: 413, code: 'payload_too_large', connection: 'close' });
    expect(answer.detail).toMatch(/^A file part exceeds/);
  });

  it('many refused bombs (more than the upload slots), then a normal capture gets 201; nothing stored of the bombs', async () => {
    const before = (await t.deps.store.list({ prefix: '' })).length;
    const metadataPart = Buffer.from('--b\r\nContent-Disposition: form-data; name="metadata"; filename="m.json"\r\nContent-Type: application/json\r\n\r\n');
    for (let i = 0; i < 6; i++) {
      const english = i % 2 === 1;
      const answer = await bomb(i < 3 ? captureHead().head : metadataPart, 2048 * KiB, english ? 'en' : 'de');
      expect(answer).toMatchObject({ status: 413, code: 'payload_too_large', connection: 'close' });
      if (english) expect(answer.detail).toMatch(i < 3 ? /^A file part exceeds/ : /^A form field is too long/);
      else expect(answer.detail).toMatch(i < 3 ? /^Ein Dateiteil überschreitet/ : /^Ein Formularfeld ist zu lang/);
    }
    // Two at once: both upload slots.
    const both = await Promise.all([bomb(captureHead().head, 2048 * KiB), bomb(captureHead().head, 2048 * KiB)]);
    for (const a of both) expect(a.status).toBe(413);
    expect((await t.deps.store.list({ prefix: '' })).length).toBe(before);
    // Two upload slots: one not released by a refusal above would leave this capture a 503.
    const jwks = (await fetch(`${url}/v1/keys`).then((r) => r.json())) as { keys: JWK[] };
    const form = new FormData();
    form.append('metadata', JSON.stringify({ title: 'Nach den Bomben' }));
    form.append('file', new Blob([await joseEncrypt(pickKey(jwks, 'ECDH-ES+A256KW', 'P-256'), await jpegWithMarker(newMarker()), { cty: 'image/jpeg' })], { type: 'application/jose' }), 'a.jwe');
    const res = await fetch(`${url}/v1/documents`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
    expect(res.status, await res.clone().text()).toBe(201);
  });
});
