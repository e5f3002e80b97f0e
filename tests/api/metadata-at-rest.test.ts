/**
 * Metadata in the database, through the API, on both backends: search by case number and title word
 * stays inside the caller's units, and no metadata value reaches the database's files in plaintext,
 * nor the words the OCR job read on a page (they are in the search only as blind tokens).
 */
import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import { germanPage, germanText } from '../../testkit/fixtures/photos.ts';
import { attachCapture, filesContaining, newMarker, pdfWithText } from '../../testkit/capture-fixtures.ts';
import { freshDatabaseUrl, METADATA_BACKENDS } from '../../testkit/database.ts';
import { openPglite } from '../../src/metadata/pglite-client.ts';
import { pgliteDirOf } from '../../src/metadata/open.ts';
import { openapiAgent, type OpenApiAgent } from '../support/openapi.ts';
import { startTestApp, type TestApp } from '../../testkit/test-app.ts';

describe.each(METADATA_BACKENDS)('metadata on %s', (backend) => {
  let t: TestApp;
  let api: OpenApiAgent;
  let tokens: { capture: (unit: string) => Promise<string>; archive: string; reviewer: string };
  // Our own data directory, so it outlives the app: the PGlite scan reopens the database after closing the app.
  let dataDir: string;
  let closed = false;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'vsc-meta-at-rest-'));
    t = await startTestApp({ OCR: 'on' }, { metadata: backend, sharing: { dataDir, databaseUrl: backend === 'PostgreSQL' ? await freshDatabaseUrl() : undefined } });
    api = openapiAgent(t.app);
    tokens = {
      capture: (unit) => t.token({ sub: `cap-${unit}`, roles: ['capture'], units: [unit] }),
      archive: await t.token({ sub: 'arch', roles: ['export'], units: ['BA-Nord'] }),
      reviewer: await t.token({ sub: 'rev', roles: ['review', 'read'], units: ['BA-Nord'] }),
    };
  });
  afterAll(async () => {
    if (!closed) await t?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function capture(unit: string, metadata: object): Promise<string> {
    const res = await attachCapture(api.post('/v1/documents').set('Authorization', `Bearer ${await tokens.capture(unit)}`), metadata, [
      { body: await pdfWithText('Inhalt'), contentType: 'application/pdf' },
    ]).expect(201);
    return res.body.id as string;
  }

  const search = async (query: string) =>
    (await api.get(`/v1/documents?${query}`).set('Authorization', `Bearer ${tokens.archive}`).expect(200)).body as { items: Array<{ id: string }>; next: string };

  it('finds by case number and title word within the caller’s units, never another unit’s', async () => {
    const own = await capture('BA-Nord', { title: 'Widerspruch gegen den Gebührenbescheid', caseNumber: 'AZ 12-345/26' });
    const other = await capture('BA-Süd', { title: 'Widerspruch gegen den Gebührenbescheid', caseNumber: 'AZ 12-345/26' });
    await capture('BA-Nord', { title: 'Antrag', caseNumber: 'AZ 99/26' });
    const ids = async (query: string) => (await search(query)).items.map((d) => d.id);
    expect(await ids(`caseNumber=${encodeURIComponent('az  12-345/26')}`)).toEqual([own]);
    expect(await ids(`q=${encodeURIComponent('gebührenbescheid WIDERSPRUCH')}`)).toEqual([own]);
    expect(await ids(`q=Bescheid`)).toEqual([]);
    expect(await ids(`caseNumber=${encodeURIComponent('AZ 12-345/26')}&status=approved`)).toEqual([]);
    expect(await ids(`caseNumber=${encodeURIComponent('AZ 12-345/26')}&capturedFrom=2000-01-01T00:00:00Z&capturedTo=2999-01-01T00:00:00Z`)).toEqual([own]);
    expect(await ids(`caseNumber=${encodeURIComponent('AZ 12-345/26')}&capturedTo=2000-01-01T00:00:00Z`)).toEqual([]);
    expect(other).not.toBe(own);
    const bad = await api.get('/v1/documents?capturedFrom=gestern').set('Authorization', `Bearer ${tokens.archive}`).expect(400);
    expect(bad.body.code).toBe('validation_failed');
  });

  it('keeps every metadata value out of the database files: title, case number, device, review note, acknowledgement reference, page words', async () => {
    const marker = newMarker();
    // A made-up word of common syllables, which OCR reads as it is; `q=` finding it shows it was read and indexed.
    const pageWord = `Ver${Array.from({ length: 4 }, () => ['gan', 'dor', 'mel', 'kas', 'tin', 'rul', 'fen', 'bor'][randomInt(8)]).join('')}`;
    const scanned = await attachCapture(api.post('/v1/documents').set('Authorization', `Bearer ${await tokens.capture('BA-Nord')}`), { title: 'Scan', source: 'scanner' }, [
      { body: germanPage(1240, [...germanText.slice(0, 2), `Kennwort ${pageWord} Ende`]), contentType: 'image/png' },
    ]).expect(201);
    for (;;) {
      const doc = await api.get(`/v1/documents/${scanned.body.id}`).set('Authorization', `Bearer ${tokens.reviewer}`).expect(200);
      if (doc.body.textLayer.status !== 'pending') break;
      await sleep(100);
    }
    expect((await search(`q=${pageWord}`)).items.map((d) => d.id)).toEqual([scanned.body.id]);
    const id = await capture('BA-Nord', {
      title: `Akte ${marker}`,
      caseNumber: `AZ ${marker}`,
      source: 'camera',
      device: { app: `App ${marker}`, version: '1.0', model: `Modell ${marker}` },
    });
    await api.post(`/v1/documents/${id}/review`).set('Authorization', `Bearer ${tokens.reviewer}`).send({ decision: 'approved', note: `Notiz ${marker}` }).expect(200);
    await api.post(`/v1/documents/${id}/acknowledgements`).set('Authorization', `Bearer ${tokens.archive}`).send({ reference: `E-Akte ${marker}` }).expect(201);
    // A canary written in plaintext through the same database proves the scan sees what the database writes.
    const canary = `canary-${newMarker()}`;
    closed = !t.databaseUrl;
    const dir = await flushDatabase(t, canary);
    expect(await filesContaining(dir, canary)).not.toEqual([]);
    expect(await filesContaining(dir, marker)).toEqual([]);
    expect(await filesContaining(dir, pageWord)).toEqual([]);
    expect(await filesContaining(dir, pageWord.toLowerCase())).toEqual([]);
  });
});

/** Writes `canary` in plaintext, forces everything to disk and returns the directory holding the database files. */
async function flushDatabase(t: TestApp, canary: string): Promise<string> {
  if (!t.databaseUrl) {
    // PGlite is inside the data directory; its own connection is the only one, so the canary goes through the same engine.
    await t.close();
    const db = await openPglite(pgliteDirOf(t.dataDir));
    await db.exec(`CREATE TABLE canary (t text); INSERT INTO canary VALUES ('${canary}'); CHECKPOINT;`);
    await db.close();
    return t.dataDir;
  }
  const dataDir = inject('postgres').dataDir;
  if (!dataDir) throw new Error('the marker scan needs the test server’s data directory: run without TEST_DATABASE_URL');
  const client = new pg.Client({ connectionString: t.databaseUrl });
  await client.connect();
  await client.query(`CREATE TABLE canary (t text); INSERT INTO canary VALUES ('${canary}'); CHECKPOINT;`);
  await client.end();
  return dataDir;
}
