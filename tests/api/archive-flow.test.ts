/**
 * An archive system's whole handover, driven by the client generated from openapi.yaml (openapi-fetch)
 * against a listening server: feed → metadata → content → manifest → audit → acknowledge. Every
 * exchange is also checked against the contract.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import createClient, { type Client } from 'openapi-fetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { paths } from '../../contract/index.ts';
import { layout } from '../../src/storage/layout.ts';
import { contractFetch } from '../support/contract-fetch.ts';
import { attachCapture, pdfWithText } from '../../testkit/capture-fixtures.ts';
import { flipFirst, runJwcrypto } from '../../testkit/jwe-fixtures.ts';
import { openapiAgent } from '../support/openapi.ts';
import { startTestApp, type TestApp } from '../../testkit/test-app.ts';
import { auditReport } from '../support/audit-verify.ts';

const UNIT = 'BA-Nord';
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('archive handover with the generated client', () => {
  let t: TestApp;
  let server: Server;
  let api: Client<paths>;
  const tokens: Record<string, string> = {};
  const auth = (who: string) => ({ Authorization: `Bearer ${tokens[who]}` });

  beforeAll(async () => {
    t = await startTestApp();
    server = t.app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    api = createClient<paths>({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, fetch: contractFetch() });
    const people = { capturer: ['capture'], archive: ['export'], reviewer: ['review'], auditor: ['audit'], admin: ['admin'], reader: ['read'] } as const;
    for (const [sub, roles] of Object.entries(people)) tokens[sub] = await t.token({ sub, name: `Frau ${sub}`, roles: [...roles], units: [UNIT] });
    tokens.foreignAuditor = await t.token({ sub: 'foreign', roles: ['audit'], units: ['BA-Sued'] });
  });
  afterAll(async () => {
    server?.close();
    await t?.close();
  });

  async function capture(title: string, pages = 1): Promise<string> {
    const req = openapiAgent(t.app).post('/v1/documents').set('Authorization', `Bearer ${tokens.capturer}`);
    const res = await attachCapture(req, { title, source: 'scanner' }, [{ body: await pdfWithText(title, pages), contentType: 'application/pdf' }]).expect(201);
    return res.body.id as string;
  }

  /** Every document of the feed with these filters, following `next` while `hasMore`. */
  async function feed(query: paths['/v1/documents']['get']['parameters']['query'] = {}): Promise<string[]> {
    const ids: string[] = [];
    let after: string | undefined;
    for (;;) {
      const { data } = await api.GET('/v1/documents', { params: { query: { ...query, limit: 2, ...(after ? { after } : {}) } }, headers: auth('archive') });
      ids.push(...data!.items.map((d) => d.id));
      after = data!.next ?? undefined;
      if (!data!.hasMore) return ids;
    }
  }

  it('walks feed → metadata → content → manifest → audit → acknowledge for an approved scan', async () => {
    const approvedId = await capture('Bauantrag', 2);
    const pendingId = await capture('Widerspruch');

    // Quality review (TR-03138): approved, final, in the transfer note.
    const reviewed = await api.POST('/v1/documents/{id}/review', {
      params: { path: { id: approvedId } },
      body: { decision: 'approved', note: 'lesbar, vollständig' },
      headers: auth('reviewer'),
    });
    expect(reviewed.data!.transferNote.review).toMatchObject({ status: 'approved', by: { sub: 'reviewer', name: 'Frau reviewer' }, note: 'lesbar, vollständig' });
    const again = await api.POST('/v1/documents/{id}/review', { params: { path: { id: approvedId } }, body: { decision: 'rejected' }, headers: auth('reviewer') });
    expect(again.response.status).toBe(409);
    expect(again.error!.code).toBe('conflict');

    // Feed: only approved and not yet acknowledged by this archive.
    const todo = await feed({ status: 'approved', acknowledged: 'false' });
    expect(todo).toContain(approvedId);
    expect(todo).not.toContain(pendingId);

    // Metadata, then content checked against its hashes.
    const { data: doc } = await api.GET('/v1/documents/{id}', { params: { path: { id: approvedId } }, headers: auth('archive') });
    expect(doc!.links.manifest).toBe(`/v1/documents/${approvedId}/manifest`);
    const rendition = await api.GET('/v1/documents/{id}/content', { params: { path: { id: approvedId } }, headers: auth('archive'), parseAs: 'arrayBuffer' });
    expect(sha256(new Uint8Array(rendition.data!))).toBe(doc!.rendition.sha256);
    const original = await api.GET('/v1/documents/{id}/content', {
      params: { path: { id: approvedId }, query: { variant: 'original', part: 1 } },
      headers: auth('archive'),
      parseAs: 'arrayBuffer',
    });
    expect(sha256(new Uint8Array(original.data!))).toBe(doc!.originals[0]!.sha256);

    // Manifest: verified by Python jwcrypto with the published sig key.
    const manifest = await api.GET('/v1/documents/{id}/manifest', { params: { path: { id: approvedId } }, headers: auth('archive'), parseAs: 'text' });
    expect(manifest.response.headers.get('content-type')).toMatch(/^application\/jose/);
    const { data: jwks } = await api.GET('/v1/keys');
    const sig = jwks!.keys.filter((k) => k.use === 'sig');
    expect(sig).toEqual([expect.objectContaining({ kty: 'EC', crv: 'P-384', alg: 'ES384' })]);
    const verified = JSON.parse((await runJwcrypto(['verify', JSON.stringify(jwks)], Buffer.from(manifest.data!))).toString());
    expect(verified.header).toMatchObject({ alg: 'ES384', kid: sig[0]!.kid, typ: 'vs-manifest+jwt' });
    expect(verified.payload).toMatchObject({
      sub: approvedId,
      documentId: approvedId,
      classification: 'VS-NfD',
      createdAt: doc!.createdAt,
      rendition: { sha256: doc!.rendition.sha256 },
      originals: [{ part: 1, sha256: doc!.originals[0]!.sha256 }],
      transferNote: { capturedBy: { sub: 'capturer' }, review: { status: 'approved', by: { sub: 'reviewer' } } },
    });
    expect(verified.payload.iat).toEqual(expect.any(Number));
    const [header, payload, signature] = manifest.data!.split('.') as [string, string, string];
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...verified.payload, classification: 'OFFEN' })).toString('base64url')}.${signature}`;
    await expect(runJwcrypto(['verify', JSON.stringify(jwks)], Buffer.from(forged))).rejects.toThrow(/jwcrypto/);
    await expect(runJwcrypto(['verify', JSON.stringify(jwks)], Buffer.from(`${header}.${payload}.${flipFirst(signature)}`))).rejects.toThrow(/jwcrypto/);

    // Acknowledge: recorded once; the feed of unacknowledged documents no longer lists it.
    const ack = await api.POST('/v1/documents/{id}/acknowledgements', { params: { path: { id: approvedId } }, body: { reference: 'EAKTE-2026-000123' }, headers: auth('archive') });
    expect(ack.response.status).toBe(201);
    expect(ack.data).toMatchObject({ documentId: approvedId, by: { sub: 'archive' }, reference: 'EAKTE-2026-000123' });
    const repeated = await api.POST('/v1/documents/{id}/acknowledgements', { params: { path: { id: approvedId } }, headers: auth('archive') });
    expect(repeated.response.status).toBe(200);
    expect(repeated.data!.at).toBe(ack.data!.at);
    expect(await feed({ acknowledged: 'false' })).not.toContain(approvedId);
    expect(await feed({ acknowledged: 'true' })).toEqual([approvedId]);

    // Audit: every step, hash-linked, for the unit's auditors only.
    const trail = await api.GET('/v1/documents/{id}/audit', { params: { path: { id: approvedId } }, headers: auth('auditor') });
    const entries = trail.data!.entries;
    expect(entries.map((e) => e.type)).toEqual(['captured', 'reviewed', 'content_exported', 'content_exported', 'manifest_exported', 'acknowledged']);
    expect(entries.map((e) => e.actor.sub)).toEqual(['capturer', 'reviewer', 'archive', 'archive', 'archive', 'archive']);
    expect(entries[1]!.details).toMatchObject({ decision: 'approved' });
    expect(entries[0]!.prevDoc).toBeNull();
    for (let i = 1; i < entries.length; i++) expect(entries[i]!.prevDoc).toBe(entries[i - 1]!.hash);
    const foreign = await api.GET('/v1/documents/{id}/audit', { params: { path: { id: approvedId } }, headers: auth('foreignAuditor') });
    expect(foreign.response.status).toBe(404);

    const global = await api.GET('/v1/audit', { params: { query: { limit: 1000 } }, headers: auth('auditor') });
    expect(global.data!.items.filter((e) => e.documentId === approvedId).map((e) => e.id)).toEqual(entries.map((e) => e.id));
    const foreignGlobal = await api.GET('/v1/audit', { params: { query: { limit: 1000 } }, headers: auth('foreignAuditor') });
    expect(foreignGlobal.data!.items).toEqual([]);
    expect((await auditReport(t, ['--full'])).problems).toEqual([]);
  });

  it('records a view ticket and every viewed page in the audit trail', async () => {
    const id = await capture('Ansicht', 2);
    const { data: view } = await api.POST('/v1/documents/{id}/views', { params: { path: { id } }, headers: auth('reader') });
    for (const page of [1, 2]) {
      const res = await api.GET('/view-api/documents/{id}/pages/{page}', {
        params: { path: { id, page }, query: { width: 400 } },
        headers: { Authorization: `Ticket ${view!.ticket}` },
        parseAs: 'arrayBuffer',
      });
      expect(res.response.status).toBe(200);
    }
    const { data: trail } = await api.GET('/v1/documents/{id}/audit', { params: { path: { id } }, headers: auth('auditor') });
    expect(trail!.entries.slice(1).map((e) => [e.type, e.actor.sub, e.details?.page])).toEqual([
      ['view_ticket_issued', 'reader', undefined],
      ['page_viewed', 'reader', 1],
      ['page_viewed', 'reader', 2],
    ]);
  });

  it('refuses each step to roles that may not take it', async () => {
    const id = await capture('Rollen');
    const path = { params: { path: { id } } };
    expect((await api.POST('/v1/documents/{id}/review', { ...path, body: { decision: 'approved' }, headers: auth('archive') })).response.status).toBe(403);
    expect((await api.GET('/v1/documents/{id}/manifest', { ...path, headers: auth('reader'), parseAs: 'text' })).response.status).toBe(403);
    expect((await api.POST('/v1/documents/{id}/acknowledgements', { ...path, headers: auth('reviewer') })).response.status).toBe(403);
    expect((await api.GET('/v1/documents/{id}/audit', { ...path, headers: auth('archive') })).response.status).toBe(403);
    expect((await api.GET('/v1/audit', { headers: auth('admin') })).response.status).toBe(403);
    expect((await api.DELETE('/v1/documents/{id}', { ...path, body: { reason: 'x' }, headers: auth('archive') })).response.status).toBe(403);
  });

  it('deletes for an admin with a reason: gone from reads and feed, blobs removed, trail kept and intact', async () => {
    const id = await capture('Zu löschen');
    const path = { params: { path: { id } } };
    const noReason = await api.DELETE('/v1/documents/{id}', { ...path, body: { reason: '' }, headers: auth('admin') });
    expect(noReason.response.status).toBe(400);
    const deleted = await api.DELETE('/v1/documents/{id}', { ...path, body: { reason: 'Aussonderung' }, headers: auth('admin') });
    expect(deleted.response.status).toBe(204);

    expect((await api.GET('/v1/documents/{id}', { ...path, headers: auth('archive') })).response.status).toBe(404);
    expect(await feed()).not.toContain(id);
    expect(await t.deps.store.list({ prefix: layout.documentPrefix(id) })).toEqual([]);
    // A deletion interrupted after the record leaves blobs behind; repeating the DELETE removes them.
    await t.deps.store.put(layout.rendition(id), Buffer.from('left behind'));
    const again = await api.DELETE('/v1/documents/{id}', { ...path, body: { reason: 'nochmal' }, headers: auth('admin') });
    expect(again.response.status).toBe(204);
    expect(await t.deps.store.list({ prefix: layout.documentPrefix(id) })).toEqual([]);
    const other = await t.token({ sub: 'admin-b', roles: ['admin'], units: ['BA-Andere'] });
    const foreign = await api.DELETE('/v1/documents/{id}', { ...path, body: { reason: 'x' }, headers: { Authorization: `Bearer ${other}` } });
    expect(foreign.response.status).toBe(404);

    const trail = await api.GET('/v1/documents/{id}/audit', { ...path, headers: auth('admin') });
    expect(trail.data!.entries.map((e) => [e.type, e.details])).toEqual([
      ['captured', expect.any(Object)],
      ['deleted', { reason: 'Aussonderung' }],
    ]);
    expect((await auditReport(t, ['--full'])).problems).toEqual([]);
  });

  it('refuses deletion during the retention period with 409 retention_active', async () => {
    const retaining = await startTestApp({ RETENTION_DAYS: '30' });
    try {
      const agent = openapiAgent(retaining.app);
      const capturer = await retaining.token({ sub: 'c', roles: ['capture'], units: [UNIT] });
      const admin = await retaining.token({ sub: 'a', roles: ['admin', 'read'], units: [UNIT] });
      const created = await attachCapture(agent.post('/v1/documents').set('Authorization', `Bearer ${capturer}`), { title: 'Aufbewahrt' }, [
        { body: await pdfWithText('x'), contentType: 'application/pdf' },
      ]).expect(201);
      const refused = await agent.delete(`/v1/documents/${created.body.id}`).set('Authorization', `Bearer ${admin}`).send({ reason: 'zu früh' }).expect(409);
      expect(refused.body.code).toBe('retention_active');
      expect(refused.body.detail).toMatch(/bis \d{4}-/);
      await agent.get(`/v1/documents/${created.body.id}`).set('Authorization', `Bearer ${admin}`).expect(200);
    } finally {
      await retaining.close();
    }
  });
});
