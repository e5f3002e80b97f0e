import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type request from 'supertest';
import { openapiAgent } from '../support/openapi.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import type { JWK } from 'jose';
import { startTestApp } from '../../testkit/test-app.ts';
import { withTestApp } from '../../testkit/with-test-app.ts';
import { attachCapture, filesContaining, jpegWithMarker, newMarker, pdfWithText, pickKey } from '../../testkit/capture-fixtures.ts';
import { joseEncrypt, jwcryptoEncrypt, withHeader, withSegment, flipFirst } from '../../testkit/jwe-fixtures.ts';
import sharp from 'sharp';
import { INLINE_BYTES } from '../../src/crypto/offload.ts';

const UNIT_A = 'BA-Nord';
const UNIT_B = 'BA-Sued';
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('POST /v1/documents (capture API on the embedded encrypted store)', () => {
  const t = withTestApp({
    options: { metadata: 'PGlite' },
    // Every request and response below is checked against openapi.yaml.
    agent: openapiAgent,
    users: {
      capturer: { sub: 'u-cap', name: 'Erika Mustermann', roles: ['capture', 'read'], units: [UNIT_A] },
      archivist: { sub: 'u-arch', roles: ['export', 'read'], units: [UNIT_A] },
    },
  });
  let jwks: { keys: JWK[] };

  beforeAll(async () => {
    jwks = (await t.api.get('/v1/keys').expect(200)).body;
  });

  const capture = (token: string, metadata: object | string, files: Parameters<typeof attachCapture>[2]) =>
    attachCapture(t.api.post('/v1/documents').set('Authorization', `Bearer ${token}`), metadata, files);

  async function storedKeys(prefix: string): Promise<string[]> {
    return (await t.deps.store.list({ prefix })).map((o) => o.key);
  }

  it('publishes ingest keys for ECDH-ES+A256KW (P-256, P-384) and RSA-OAEP-256 and the manifest key, without private members', () => {
    const described = jwks.keys.map((k) => `${k.alg}/${k.crv ?? k.kty}/${k.use}`).sort();
    expect(described).toEqual(['ECDH-ES+A256KW/P-256/enc', 'ECDH-ES+A256KW/P-384/enc', 'ES384/P-384/sig', 'RSA-OAEP-256/RSA/enc']);
    for (const key of jwks.keys) {
      expect(key.kid).toBeTruthy();
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key).not.toHaveProperty(secret);
    }
  });

  it('accepts JWE parts from jose and jwcrypto, stores the originals as received and answers 201 with hashes', async () => {
    const photo = await jpegWithMarker(newMarker());
    const scan = await pdfWithText('Anhoerung', 2);
    const metadata = { title: 'Anhörungsbogen', caseNumber: 'AZ 1-2/26', source: 'camera', device: { app: 'SecurePIM', version: '9.1' } };
    const res = await capture(t.tokens.capturer, await joseEncrypt(pickKey(jwks, 'ECDH-ES+A256KW', 'P-384'), Buffer.from(JSON.stringify(metadata))), [
      { body: await joseEncrypt(pickKey(jwks, 'ECDH-ES+A256KW', 'P-256'), photo, { cty: 'image/jpeg' }), contentType: 'application/jose' },
      { body: await jwcryptoEncrypt(pickKey(jwks, 'RSA-OAEP-256'), scan), contentType: 'application/jose' },
    ]).expect(201);

    expect(res.headers.location).toBe(`/v1/documents/${res.body.id}`);
    expect(res.body).toMatchObject({ title: 'Anhörungsbogen', classification: 'VS-NfD', unit: UNIT_A, pageCount: 3 });
    expect(res.body.originals.map((o: { sha256: string }) => o.sha256)).toEqual([sha256(photo), sha256(scan)]);
    expect(res.body.originals.map((o: { mediaType: string }) => o.mediaType)).toEqual(['image/jpeg', 'application/pdf']);
    expect(res.body.transferNote).toMatchObject({
      capturedBy: { sub: 'u-cap', name: 'Erika Mustermann' },
      source: 'camera',
      device: { app: 'SecurePIM', version: '9.1' },
      transport: { encryptedParts: 2, plainParts: 0, metadataEncrypted: true },
      review: { status: 'pending' },
    });

    const original = await t.api
      .get(`/v1/documents/${res.body.id}/content?variant=original&part=2`)
      .set('Authorization', `Bearer ${t.tokens.archivist}`)
      .responseType('blob')
      .expect(200);
    expect(sha256(original.body)).toBe(sha256(scan));
    expect(original.headers['repr-digest']).toBe(`sha-256=:${createHash('sha256').update(scan).digest('base64')}:`);
  });

  it('decrypts, hashes and seals parts above INLINE_BYTES in the crypto pool: the same hash, the original back byte for byte, a bad part refused by its number', async () => {
    const noise = { type: 'gaussian' as const, mean: 128, sigma: 30 };
    const photo = await sharp({ create: { width: 800, height: 600, channels: 3, background: '#ccc', noise } }).jpeg().toBuffer();
    // Larger than the inline bound, so this goes through the worker threads.
    expect(photo.length).toBeGreaterThan(INLINE_BYTES);
    const good = await joseEncrypt(pickKey(jwks, 'ECDH-ES+A256KW', 'P-256'), photo, { cty: 'image/jpeg' });
    const metadata = { title: 'Groß', source: 'camera', enhance: 'none' };
    const created = await capture(t.tokens.capturer, metadata, [{ body: good, contentType: 'application/jose' }]).expect(201);
    expect(created.body.originals[0].sha256).toBe(sha256(photo));
    const original = await t.api
      .get(`/v1/documents/${created.body.id}/content?variant=original&part=1`)
      .set('Authorization', `Bearer ${t.tokens.archivist}`)
      .responseType('blob')
      .expect(200);
    expect(sha256(original.body)).toBe(sha256(photo));

    const before = await storedKeys('documents/');
    const refused = await capture(t.tokens.capturer, metadata, [
      { body: good, contentType: 'application/jose' },
      { body: withSegment(good, 3, flipFirst), contentType: 'application/jose' },
    ]).expect(400);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.body.code).toBe('jwe_invalid');
    expect(refused.body.detail).toMatch(/^Dateiteil 2: Entschlüsselung fehlgeschlagen/);
    expect(await storedKeys('documents/')).toEqual(before);
  });

  it('decrypts metadata whose JWE is above INLINE_BYTES in the crypto pool (its plaintext in shared memory) and reads it as strict UTF-8', async () => {
    const key = pickKey(jwks, 'ECDH-ES+A256KW', 'P-256');
    const json = JSON.stringify({ title: 'Große Übergabe — ẞ' }) + ' '.repeat(60_000);
    const metadata = await joseEncrypt(key, Buffer.from(json));
    expect(metadata.length).toBeGreaterThan(INLINE_BYTES);
    const created = await capture(t.tokens.capturer, metadata, [{ body: await joseEncrypt(key, await pdfWithText('m'), { cty: 'application/pdf' }), contentType: 'application/jose' }]).expect(201);
    expect(created.body.title).toBe('Große Übergabe — ẞ');
    expect(created.body.transferNote.transport.metadataEncrypted).toBe(true);
  });

  it('serves the rendition as a marked PDF with Repr-Digest and byte ranges', async () => {
    const created = await capture(t.tokens.capturer, { title: 'Range' }, [{ body: await pdfWithText('x'), contentType: 'application/pdf' }]).expect(201);
    const url = `/v1/documents/${created.body.id}/content`;
    const whole = await t.api.get(url).set('Authorization', `Bearer ${t.tokens.archivist}`).responseType('blob').expect(200);
    expect(whole.headers['content-type']).toBe('application/pdf');
    expect(whole.headers['cache-control']).toBe('no-store');
    expect(sha256(whole.body)).toBe(created.body.rendition.sha256);
    expect(whole.body.subarray(0, 5).toString()).toBe('%PDF-');

    const part = await t.api.get(url).set('Authorization', `Bearer ${t.tokens.archivist}`).set('Range', 'bytes=1-4').responseType('blob').expect(206);
    expect(part.body.toString()).toBe('PDF-');
    expect(part.headers['content-range']).toBe(`bytes 1-4/${whole.body.length}`);
    await t.api.get(url).set('Authorization', `Bearer ${t.tokens.archivist}`).set('Range', `bytes=${whole.body.length}-`).expect(416);
    const reversed = await t.api.get(url).set('Authorization', `Bearer ${t.tokens.archivist}`).set('Range', 'bytes=4-1').responseType('blob').expect(200);
    expect(reversed.body.length).toBe(whole.body.length);

    // HEAD describes the content without exporting it: nothing read, nothing in the audit trail.
    const head = await t.api.head(url).set('Authorization', `Bearer ${t.tokens.archivist}`).expect(200);
    expect(head.headers['content-length']).toBe(String(whole.body.length));
    const auditor = await t.token({ sub: 'u-audit', roles: ['audit'], units: [UNIT_A] });
    const trail = await t.api.get(`/v1/documents/${created.body.id}/audit`).set('Authorization', `Bearer ${auditor}`).expect(200);
    const exports = trail.body.entries.filter((e: { type: string }) => e.type === 'content_exported');
    expect(exports.map((e: { details: object }) => e.details)).toEqual([
      { variant: 'rendition' },
      { variant: 'rendition', range: '1-5' },
      { variant: 'rendition' },
    ]);
  });

  it('keeps no marker in plaintext: not in the data directory and not in the logs', async () => {
    const marker = newMarker();
    await capture(t.tokens.capturer, { title: `Akte ${marker}`, caseNumber: marker }, [
      { body: await jpegWithMarker(marker), contentType: 'image/jpeg' },
      { body: await pdfWithText(marker), contentType: 'application/pdf' },
    ]).expect(201);
    expect(await filesContaining(t.dataDir, marker)).toEqual([]);
    expect(t.logs.join('')).not.toContain(marker);
    expect(t.logs.length).toBeGreaterThan(0);
  });

  describe('refusals answer problem+json and store nothing', () => {
    // Each case builds its request without sending it: returning a supertest Test from an async function would send it.
    const cases: Array<[string, () => Promise<{ req: request.Test }>, number, string]> = [
      ['no token', async () => ({ req: t.api.post('/v1/documents') }), 401, 'unauthenticated'],
      ['not multipart', async () => ({ req: t.api.post('/v1/documents').set('Authorization', `Bearer ${t.tokens.capturer}`).send({ title: 'x' }) }), 415, 'unsupported_media_type'],
      ['missing metadata', async () => ({ req: attachCapture(t.api.post('/v1/documents').set('Authorization', `Bearer ${t.tokens.capturer}`), '', [{ body: await pdfWithText('a'), contentType: 'application/pdf' }]) }), 400, 'validation_failed'],
      ['unknown metadata field', async () => ({ req: capture(t.tokens.capturer, { title: 'x', secret: 1 }, [{ body: await pdfWithText('a'), contentType: 'application/pdf' }]) }), 400, 'validation_failed'],
      ['GEHEIM', async () => ({ req: capture(t.tokens.capturer, { title: 'x', classification: 'GEHEIM' }, [{ body: await pdfWithText('a'), contentType: 'application/pdf' }]) }), 422, 'classification_refused'],
      ['no file part', async () => ({ req: capture(t.tokens.capturer, { title: 'x' }, []) }), 400, 'validation_failed'],
      ['unsupported type', async () => ({ req: capture(t.tokens.capturer, { title: 'x' }, [{ body: '<html><script>alert(1)</script></html>', contentType: 'text/html' }]) }), 415, 'unsupported_media_type'],
      ['declared type lies', async () => ({ req: capture(t.tokens.capturer, { title: 'x' }, [{ body: await pdfWithText('a'), contentType: 'image/jpeg' }]) }), 415, 'media_type_mismatch'],
      ['JWE alg dir', async () => ({ req: capture(t.tokens.capturer, { title: 'x' }, [{ body: withHeader(await encryptedPdf(), (h) => ({ ...h, alg: 'dir' })), contentType: 'application/jose' }]) }), 400, 'jwe_invalid'],
      ['JWE tampered', async () => ({ req: capture(t.tokens.capturer, { title: 'x' }, [{ body: withSegment(await encryptedPdf(), 3, flipFirst), contentType: 'application/jose' }]) }), 400, 'jwe_invalid'],
      ['capture role missing', async () => ({ req: capture(t.tokens.archivist, { title: 'x' }, [{ body: await pdfWithText('a'), contentType: 'application/pdf' }]) }), 403, 'forbidden'],
      ['other unit', async () => ({ req: capture(t.tokens.capturer, { title: 'x', unit: UNIT_B }, [{ body: await pdfWithText('a'), contentType: 'application/pdf' }]) }), 403, 'forbidden'],
    ];

    async function encryptedPdf(): Promise<string> {
      return joseEncrypt(pickKey(jwks, 'ECDH-ES+A256KW', 'P-256'), await pdfWithText('secret'));
    }

    it.each(cases.map(([name, send, status, code]) => [`${name} → ${status} ${code}`, send, status, code] as const))('%s', async (_name, send, status, code) => {
      const before = await storedKeys('documents/');
      const res = await (await send()).req.expect(status);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status, code });
      expect(res.body.detail).toEqual(expect.any(String));
      expect(await storedKeys('documents/')).toEqual(before);
    });

    it('refuses metadata nested deeper than any valid metadata before parsing it, naming the nesting', async () => {
      const deep = `{"title":"x","device":${'['.repeat(2000)}${']'.repeat(2000)}}`;
      const res = await capture(t.tokens.capturer, deep, [{ body: await pdfWithText('a'), contentType: 'application/pdf' }]).expect(400);
      expect(res.body).toMatchObject({ code: 'validation_failed' });
      expect(res.body.detail).toMatch(/tiefer als 8 Ebenen verschachtelt/);
    });

    it('refuses a body without Content-Length with 411 and one over MAX_REQUEST_BYTES with 413', async () => {
      const small = await startTestApp({ MAX_REQUEST_BYTES: '2048' });
      try {
        const token = await small.token({ sub: 'u', roles: ['capture'], units: [UNIT_A] });
        const res = await attachCapture(openapiAgent(small.app).post('/v1/documents').set('Authorization', `Bearer ${token}`), { title: 'x' }, [
          { body: Buffer.alloc(4096, 1), contentType: 'application/pdf' },
        ]).expect(413);
        expect(res.body.code).toBe('payload_too_large');
        const chunked = await postChunked(small.app, token);
        expect(chunked.status).toBe(411);
        expect(JSON.parse(chunked.body).code).toBe('length_required');
      } finally {
        await small.close();
      }
    });
  });

  it('requires every part encrypted when REQUIRE_ENCRYPTION is on', async () => {
    const strict = await startTestApp({ REQUIRE_ENCRYPTION: 'true' });
    try {
      const token = await strict.token({ sub: 'u', roles: ['capture'], units: [UNIT_A] });
      const keys = (await openapiAgent(strict.app).get('/v1/keys')).body;
      const key = pickKey(keys, 'ECDH-ES+A256KW', 'P-256');
      const pdf = await pdfWithText('a');
      const plainFile = await attachCapture(openapiAgent(strict.app).post('/v1/documents').set('Authorization', `Bearer ${token}`),
        await joseEncrypt(key, Buffer.from('{"title":"x"}')), [{ body: pdf, contentType: 'application/pdf' }]).expect(400);
      expect(plainFile.body.detail).toMatch(/^Dateiteil 1 ist nicht verschlüsselt/);
      const plainMeta = await attachCapture(openapiAgent(strict.app).post('/v1/documents').set('Authorization', `Bearer ${token}`),
        { title: 'x' }, [{ body: await joseEncrypt(key, pdf), contentType: 'application/jose' }]).expect(400);
      expect(plainMeta.body.detail).toMatch(/^Der metadata-Teil ist nicht verschlüsselt/);
      await attachCapture(openapiAgent(strict.app).post('/v1/documents').set('Authorization', `Bearer ${token}`),
        await joseEncrypt(key, Buffer.from('{"title":"x"}')), [{ body: await joseEncrypt(key, pdf), contentType: 'application/jose' }]).expect(201);
    } finally {
      await strict.close();
    }
  });

  describe('idempotency', () => {
    it('returns the same document for a retry, even re-encrypted, and refuses a different request with the same key', async () => {
      const key = pickKey(jwks, 'ECDH-ES+A256KW', 'P-256');
      const pdf = await pdfWithText('retry');
      // A fresh encryption per attempt, as an app that re-encrypts on retry would send.
      const send = async (title: string) => ({
        req: capture(t.tokens.capturer, { title }, [{ body: await joseEncrypt(key, pdf), contentType: 'application/jose' }]).set('Idempotency-Key', 'retry-key-1'),
      });
      const first = await (await send('Erstversuch')).req.expect(201);
      const retry = await (await send('Erstversuch')).req.expect(201);
      expect(retry.body.id).toBe(first.body.id);
      expect(retry.headers['idempotent-replayed']).toBe('true');
      const conflict = await (await send('Anderer Titel')).req.expect(422);
      expect(conflict.body.code).toBe('idempotency_conflict');
      const feed = await t.api.get('/v1/documents?limit=500').set('Authorization', `Bearer ${t.tokens.archivist}`).expect(200);
      expect(feed.body.items.filter((d: { title: string }) => d.title === 'Erstversuch')).toHaveLength(1);
    });

    it('scopes keys per user: another user with the same key gets a new document', async () => {
      const other = await t.token({ sub: 'u-cap-2', roles: ['capture'], units: [UNIT_A] });
      const pdf = await pdfWithText('scoped');
      const a = await capture(t.tokens.capturer, { title: 'scoped' }, [{ body: pdf, contentType: 'application/pdf' }]).set('Idempotency-Key', 'shared').expect(201);
      const b = await capture(other, { title: 'scoped' }, [{ body: pdf, contentType: 'application/pdf' }]).set('Idempotency-Key', 'shared').expect(201);
      expect(b.body.id).not.toBe(a.body.id);
    });
  });

  describe('roles and units', () => {
    it('lets a capture-only user upload but not read, and hides unit A documents from unit B', async () => {
      const captureOnly = await t.token({ sub: 'u-co', roles: ['capture'], units: [UNIT_A] });
      const readerB = await t.token({ sub: 'u-b', roles: ['read', 'export'], units: [UNIT_B] });
      const created = await capture(captureOnly, { title: 'Nur Erfassung' }, [{ body: await pdfWithText('a'), contentType: 'application/pdf' }]).expect(201);
      const url = `/v1/documents/${created.body.id}`;
      expect((await t.api.get(url).set('Authorization', `Bearer ${captureOnly}`).expect(403)).body.code).toBe('forbidden');
      expect((await t.api.get(url).set('Authorization', `Bearer ${readerB}`).expect(404)).body.code).toBe('not_found');
      await t.api.get(`${url}/content`).set('Authorization', `Bearer ${readerB}`).expect(404);
      await t.api.get(url).set('Authorization', `Bearer ${t.tokens.archivist}`).expect(200);
      const feedB = await t.api.get('/v1/documents?limit=500').set('Authorization', `Bearer ${readerB}`).expect(200);
      expect(feedB.body.items.map((d: { id: string }) => d.id)).not.toContain(created.body.id);
    });

    it('refuses forged and foreign tokens with 401', async () => {
      const [h, p] = t.tokens.capturer.split('.');
      const forged = `${h}.${p}.${'A'.repeat(86)}`;
      const res = await t.api.get('/v1/documents').set('Authorization', `Bearer ${forged}`).expect(401);
      expect(res.body.code).toBe('unauthenticated');
      expect(res.headers['www-authenticate']).toBeUndefined();
      const none = await t.api.get('/v1/documents').expect(401);
      expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    });
  });
});

/** A streamed body without Content-Length (supertest always sets one). */
async function postChunked(app: Express, token: string): Promise<{ status: number; body: string }> {
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as AddressInfo;
    const req = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/v1/documents',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'multipart/form-data; boundary=x' },
    });
    req.write('--x\r\n');
    req.end();
    const [res] = (await once(req, 'response')) as [http.IncomingMessage];
    return { status: res.statusCode ?? 0, body: Buffer.concat(await res.toArray()).toString() };
  } finally {
    server.close();
  }
}
