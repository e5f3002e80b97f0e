import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JWK } from 'jose';
import { startTestApp, type TestApp } from '../../testkit/test-app.ts';
import { withTestApp } from '../../testkit/with-test-app.ts';
import { filesContaining, jpegWithMarker, newMarker, pickKey } from '../../testkit/capture-fixtures.ts';
import { joseEncrypt } from '../../testkit/jwe-fixtures.ts';
import { createUpload, headUpload, interruptedPatch, patchUpload, uploadIdOf } from '../support/tus.ts';
import { s3Options, uniqueBucket } from '../../testkit/s3.ts';
import { ObjectUploadStore } from '../../src/uploads/upload-store.ts';
import { layout } from '../../src/storage/layout.ts';

const UNIT = 'BA-Nord';
/** Small chunk objects, so a test upload spans several of them and a short tail. */
const ENV = { UPLOAD_CHUNK_BYTES: String(64 * 1024) };

describe('resumable uploads (tus 1.0 under /v1/uploads)', () => {
  const t = withTestApp({
    env: ENV,
    users: {
      capturer: { sub: 'u-cap', roles: ['capture'], units: [UNIT] },
      other: { sub: 'u-other', roles: ['capture'], units: [UNIT] },
    },
  });
  let jwks: { keys: JWK[] };

  beforeAll(async () => {
    jwks = (await request(t.app).get('/v1/keys').expect(200)).body;
  });

  const encryptJpeg = async (marker: string) =>
    Buffer.from(await joseEncrypt(pickKey(jwks, 'ECDH-ES+A256KW', 'P-256'), await jpegWithMarker(marker, 800, 600), { cty: 'image/jpeg' }));

  const captureWithUploads = (token: string, ids: string[]) => {
    const req = request(t.app).post('/v1/documents').set('Authorization', `Bearer ${token}`).field('metadata', JSON.stringify({ title: 'Resumable' }));
    for (const id of ids) req.field('upload', id);
    return req;
  };

  it('resumes a PATCH interrupted half-way from the offset HEAD reports, then captures the upload as a document', async () => {
    const marker = newMarker();
    const jwe = await encryptJpeg(marker);
    const created = await createUpload(t.app, t.tokens.capturer, jwe.length).expect(201);
    const id = uploadIdOf(created);
    expect(created.headers.location).toBe(`/v1/uploads/${id}`);
    expect(created.headers['upload-expires']).toBeTruthy();

    const half = Math.floor(jwe.length / 2);
    const kept = await interruptedPatch(t.app, t.tokens.capturer, id, 0, jwe.subarray(0, half), jwe.length);
    // Part of it was stored; the bytes still in the server's stream buffers at the drop are sent again.
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(half);
    const head = await headUpload(t.app, t.tokens.capturer, id).expect(200);
    expect(Number(head.headers['upload-offset'])).toBe(kept);
    expect(head.headers['upload-length']).toBe(String(jwe.length));
    expect(head.headers['cache-control']).toBe('no-store');

    const done = await patchUpload(t.app, t.tokens.capturer, id, kept, jwe.subarray(kept)).expect(204);
    expect(done.headers['upload-offset']).toBe(String(jwe.length));
    expect(await filesContaining(t.dataDir, marker)).toEqual([]);

    const doc = await captureWithUploads(t.tokens.capturer, [id]).expect(201);
    expect(doc.body).toMatchObject({ pageCount: 1, transferNote: { transport: { encryptedParts: 1, plainParts: 0 } } });
    expect(await t.deps.store.list({ prefix: layout.uploadPrefix(id) })).toEqual([]);
    await headUpload(t.app, t.tokens.capturer, id).expect(404);
  });

  it('keeps pages in the order of the upload fields', async () => {
    const ids: string[] = [];
    for (const marker of [newMarker(), newMarker()]) {
      const jwe = await encryptJpeg(marker);
      const id = uploadIdOf(await createUpload(t.app, t.tokens.capturer, jwe.length).expect(201));
      await patchUpload(t.app, t.tokens.capturer, id, 0, jwe).expect(204);
      ids.push(id);
    }
    const doc = await captureWithUploads(t.tokens.capturer, ids).expect(201);
    expect(doc.body.pageCount).toBe(2);
  });

  it('answers another user 404 for every request on an upload, and refuses them as a capture part', async () => {
    const jwe = await encryptJpeg(newMarker());
    const id = uploadIdOf(await createUpload(t.app, t.tokens.capturer, jwe.length).expect(201));
    await patchUpload(t.app, t.tokens.capturer, id, 0, jwe).expect(204);

    const head = await headUpload(t.app, t.tokens.other, id).expect(404);
    expect(head.headers['tus-resumable']).toBe('1.0.0');
    const patch = await patchUpload(t.app, t.tokens.other, id, 0, Buffer.from('x')).expect(404);
    expect(patch.headers['content-type']).toMatch(/^application\/problem\+json/);
    await request(t.app).delete(`/v1/uploads/${id}`).set('Tus-Resumable', '1.0.0').set('Authorization', `Bearer ${t.tokens.other}`).expect(404);
    await captureWithUploads(t.tokens.other, [id]).expect(404);
    await headUpload(t.app, t.tokens.capturer, id).expect(200);
    // Uploads are never served back, not even to their owner: ciphertext goes in, documents come out.
    const get = await request(t.app).get(`/v1/uploads/${id}`).set('Tus-Resumable', '1.0.0').set('Authorization', `Bearer ${t.tokens.capturer}`).expect(404);
    expect(get.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('requires the capture role', async () => {
    const reader = await t.token({ sub: 'u-read', roles: ['read'], units: [UNIT] });
    const res = await createUpload(t.app, reader, 10).expect(403);
    expect(res.body.code).toBe('forbidden');
  });

  it('refuses uploads not declared as application/jose, and plaintext bodies, keeping nothing', async () => {
    const marker = newMarker();
    const photo = await jpegWithMarker(marker);
    const undeclared = await createUpload(t.app, t.tokens.capturer, photo.length, { filetype: 'image/jpeg' }).expect(415);
    expect(undeclared.body.detail).toMatch(/JWE/);

    const id = uploadIdOf(await createUpload(t.app, t.tokens.capturer, photo.length).expect(201));
    const refused = await patchUpload(t.app, t.tokens.capturer, id, 0, photo).expect(400);
    expect(refused.body, JSON.stringify(refused.body)).toMatchObject({ code: 'jwe_invalid' });
    expect(await t.deps.store.list({ prefix: layout.uploadPrefix(id) })).toEqual([]);
    expect(await filesContaining(t.dataDir, marker)).toEqual([]);
  });

  it('refuses a finished upload whose JWE header names a forbidden algorithm', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'RSA1_5', enc: 'A256GCM', kid: 'k' })).toString('base64url');
    const body = Buffer.from(`${header}.AAAA.AAAA.AAAA.AAAA`);
    const id = uploadIdOf(await createUpload(t.app, t.tokens.capturer, body.length).expect(201));
    const res = await patchUpload(t.app, t.tokens.capturer, id, 0, body).expect(400);
    expect(res.body.detail).toMatch(/RSA1_5/);
  });

  it('refuses mixing inline file parts and upload fields, and unfinished uploads', async () => {
    const jwe = await encryptJpeg(newMarker());
    const id = uploadIdOf(await createUpload(t.app, t.tokens.capturer, jwe.length).expect(201));
    await patchUpload(t.app, t.tokens.capturer, id, 0, jwe.subarray(0, 1000)).expect(204);
    const unfinished = await captureWithUploads(t.tokens.capturer, [id]).expect(409);
    expect(unfinished.body.detail).toMatch(/1000 von/);

    const mixed = await captureWithUploads(t.tokens.capturer, [id]).attach('file', jwe, { filename: 'a', contentType: 'application/jose' }).expect(400);
    expect(mixed.body.detail).toMatch(/entweder direkt als 'file'-Teile/);
  });

  it('refuses an upload named twice in one capture, before reading it', async () => {
    const jwe = await encryptJpeg(newMarker());
    const id = uploadIdOf(await createUpload(t.app, t.tokens.capturer, jwe.length).expect(201));
    await patchUpload(t.app, t.tokens.capturer, id, 0, jwe).expect(204);
    const res = await captureWithUploads(t.tokens.capturer, [id, id]).expect(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ code: 'validation_failed' });
    expect(res.body.detail).toContain(`'${id}' ist mehrfach genannt`);
    // Refused before anything was consumed: the upload is still there for a correct capture.
    await captureWithUploads(t.tokens.capturer, [id]).expect(201);
  });

  it('bounds the sum of the uploads one capture names by MAX_REQUEST_BYTES', async () => {
    const first = await encryptJpeg(newMarker());
    const second = await encryptJpeg(newMarker());
    const tight = await startTestApp({ ...ENV, MAX_REQUEST_BYTES: String(Math.ceil(first.length * 1.5)) });
    try {
      const token = await tight.token({ sub: 'u-cap', roles: ['capture'], units: [UNIT] });
      const ids: string[] = [];
      for (const jwe of [first, second]) {
        const id = uploadIdOf(await createUpload(tight.app, token, jwe.length).expect(201));
        await patchUpload(tight.app, token, id, 0, jwe).expect(204);
        ids.push(id);
      }
      const req = request(tight.app).post('/v1/documents').set('Authorization', `Bearer ${token}`).field('metadata', JSON.stringify({ title: 'Zu groß' }));
      for (const id of ids) req.field('upload', id);
      const res = await req.expect(413);
      expect(res.body).toMatchObject({ code: 'payload_too_large', limit: Math.ceil(first.length * 1.5) });
      expect(res.body.detail).toMatch(/Teilen Sie das Dokument/);
    } finally {
      await tight.close();
    }
  });

  it('answers Upload-Concat and Upload-Defer-Length, extensions it does not offer, with 400 and its Tus-Extension list', async () => {
    const options = await request(t.app).options('/v1/uploads').set('Tus-Resumable', '1.0.0').set('Authorization', `Bearer ${t.tokens.capturer}`).expect(204);
    const offered = String(options.headers['tus-extension']);
    expect(offered).not.toMatch(/concatenation|creation-defer-length/);
    const concat = await request(t.app)
      .post('/v1/uploads')
      .set('Tus-Resumable', '1.0.0')
      .set('Authorization', `Bearer ${t.tokens.capturer}`)
      .set('Upload-Concat', 'partial')
      .set('Upload-Length', '100')
      .set('Upload-Metadata', `filetype ${Buffer.from('application/jose').toString('base64')}`);
    const deferred = await request(t.app)
      .post('/v1/uploads')
      .set('Tus-Resumable', '1.0.0')
      .set('Authorization', `Bearer ${t.tokens.capturer}`)
      .set('Upload-Defer-Length', '1')
      .set('Upload-Metadata', `filetype ${Buffer.from('application/jose').toString('base64')}`);
    for (const res of [concat, deferred]) {
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ code: 'tus_extension_unsupported' });
      expect(res.headers['tus-extension']).toBe(offered);
      expect(res.headers['tus-resumable']).toBe('1.0.0');
    }
    expect(t.logs.join('')).not.toMatch(/"level":50/);
  });

  it('enforces the size limit at creation', async () => {
    const res = await createUpload(t.app, t.tokens.capturer, 10 * 1024 ** 3).expect(413);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('expires uploads: the sweep removes them and their chunks', async () => {
    const jwe = await encryptJpeg(newMarker());
    const id = uploadIdOf(await createUpload(t.app, t.tokens.capturer, jwe.length).expect(201));
    await patchUpload(t.app, t.tokens.capturer, id, 0, jwe.subarray(0, 100_000)).expect(204);
    expect((await t.deps.store.list({ prefix: layout.uploadPrefix(id) })).length).toBeGreaterThan(1);

    // The same sweep compose runs periodically, a day later.
    const later = new ObjectUploadStore({ store: t.deps.store, ttlMs: t.deps.config.uploads.ttlMs, chunkBytes: 64 * 1024, now: () => Date.now() + 25 * 3_600_000 });
    expect(await later.deleteExpired()).toBeGreaterThanOrEqual(1);
    expect(await t.deps.store.list({ prefix: layout.uploadPrefix(id) })).toEqual([]);
    await headUpload(t.app, t.tokens.capturer, id).expect(404);
  });
});

describe.each([
  ['filesystem store', () => ({})],
  [
    'S3 store',
    () => {
      const { endPoint, port, useSSL, accessKey, secretKey, region } = s3Options('unused');
      const endpoint = `${useSSL ? 'https' : 'http'}://${endPoint}:${port}`;
      return { STORAGE_BACKEND: 's3', S3_ENDPOINT: endpoint, S3_REGION: region, S3_ACCESS_KEY: accessKey, S3_SECRET_KEY: secretKey, S3_BUCKET: uniqueBucket('uploads') };
    },
  ],
] as const)('two instances on one %s', (_name, backendEnv) => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    const env = { ...ENV, ...backendEnv() };
    a = await startTestApp(env);
    // Started after A, so it loads the keys A generated into the shared data directory.
    b = await startTestApp(env, { sharing: a });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('continues on instance B an upload begun on instance A', async () => {
    const jwks = (await request(a.app).get('/v1/keys').expect(200)).body;
    const token = await a.token({ sub: 'u-cap', roles: ['capture'], units: [UNIT] });
    const marker = newMarker();
    const jwe = Buffer.from(await joseEncrypt(pickKey(jwks, 'ECDH-ES+A256KW', 'P-384'), await jpegWithMarker(marker, 800, 600), { cty: 'image/jpeg' }));
    const id = uploadIdOf(await createUpload(a.app, token, jwe.length).expect(201));
    const half = Math.floor(jwe.length / 2);
    await patchUpload(a.app, token, id, 0, jwe.subarray(0, half)).expect(204);

    expect((await headUpload(b.app, token, id).expect(200)).headers['upload-offset']).toBe(String(half));
    await patchUpload(b.app, token, id, half, jwe.subarray(half)).expect(204);
    await patchUpload(a.app, token, id, half, jwe.subarray(half)).expect(409);

    const doc = await request(a.app)
      .post('/v1/documents')
      .set('Authorization', `Bearer ${token}`)
      .field('metadata', JSON.stringify({ title: 'Two instances' }))
      .field('upload', id)
      .expect(201);
    expect(doc.body.pageCount).toBe(1);
    expect(await filesContaining(a.dataDir, marker)).toEqual([]);
    expect(a.logs.join('\n')).not.toContain(marker);
  });
});
