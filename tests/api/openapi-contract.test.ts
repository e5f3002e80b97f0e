import { readFile } from 'node:fs/promises';
import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { problemKinds, type ErrorCode } from '../../src/kernel/errors.ts';
import { attachCapture, pdfWithText } from '../../testkit/capture-fixtures.ts';
import { OPENAPI_PATH, openapiAgent, openapiContract } from '../support/openapi.ts';
import { withTestApp } from '../../testkit/with-test-app.ts';

describe('the contract check (tests/support/openapi.ts)', () => {
  // A stand-in service whose answers break the contract on purpose.
  const app = express();
  app.get('/healthz', (req, res) => {
    if (req.query.wrong === 'status') res.status(418).json({ status: 'ok' });
    else res.json({ status: req.query.wrong === 'body' ? 'fine' : 'ok' });
  });
  app.get('/v1/documents', (_req, res) => {
    res.json({ items: [], next: null, hasMore: false });
  });
  app.get('/undocumented', (_req, res) => {
    res.json({});
  });
  const api = openapiAgent(app);

  it('passes an exchange that matches openapi.yaml', async () => {
    await api.get('/healthz').expect(200);
  });

  it('fails a response body that breaks its schema, naming the field', async () => {
    await expect(api.get('/healthz?wrong=body')).rejects.toThrow(/GET \/healthz\?wrong=body → 200 breaks openapi\.yaml:\n {2}- response body \/status: must be equal to constant \("ok"\)/);
  });

  it('fails a status the operation does not document', async () => {
    await expect(api.get('/healthz?wrong=status')).rejects.toThrow(/status 418 is not documented \(documented: 200, 500\)/);
  });

  it('fails a path that is not in openapi.yaml', async () => {
    await expect(api.get('/undocumented')).rejects.toThrow(/path \/undocumented is not in openapi\.yaml/);
  });

  it('fails a method the path does not document', async () => {
    await expect(api.delete('/healthz')).rejects.toThrow(/DELETE is not documented for \/healthz/);
  });

  it('fails a request outside the contract that the service accepted', async () => {
    await expect(api.get('/v1/documents?limit=0&sort=desc')).rejects.toThrow(
      /query parameter 'sort' is not documented\n {2}- query parameter 'limit': must be >= 1/,
    );
  });
});

describe('openapi.yaml and the error registry', () => {
  const doc = openapiContract().document as unknown as OpenApiDoc;

  it('lists exactly the problem codes of src/kernel/errors.ts', () => {
    expect([...doc.components.schemas.ProblemCode.enum].sort()).toEqual(Object.keys(problemKinds).sort());
  });

  it('documents each problem code only under the status the registry gives it', () => {
    for (const [where, status, codes] of documentedProblemCodes(doc)) {
      for (const code of codes) expect(`${where}: ${code} → ${problemKinds[code].status}`).toBe(`${where}: ${code} → ${status}`);
    }
  });
});

describe('the service against openapi.yaml', () => {
  const t = withTestApp({
    agent: openapiAgent,
    users: {
      capturer: { sub: 'oa-cap', roles: ['capture', 'read'], units: ['BA-Vertrag'] },
      archivist: { sub: 'oa-arch', roles: ['export', 'read'], units: ['BA-Vertrag'] },
    },
  });

  it('serves openapi.yaml as it is in the repository', async () => {
    const res = await t.api.get('/openapi.yaml').expect(200).expect('Content-Type', /^application\/yaml/);
    expect(res.text).toBe(await readFile(OPENAPI_PATH, 'utf8'));
  });

  it('serves /docs from its own origin, allowing inline styles on that page alone', async () => {
    const page = await t.api.get('/docs').expect(200);
    const csp = page.headers['content-security-policy'];
    expect(csp).toMatch(/script-src 'self';/);
    expect(csp).toMatch(/style-src 'self' 'unsafe-inline'/);
    expect(page.text).not.toMatch(/https?:\/\/|<script>|<style|style=/);
    for (const src of page.text.match(/(?<=src=")[^"]+/g) ?? []) {
      await request(t.app).get(src).expect(200).expect('Content-Type', /javascript/);
    }
    const other = await t.api.get('/healthz').expect(200);
    expect(other.headers['content-security-policy']).toMatch(/style-src 'self';/);
  });

  it('leads a person who opens the bare address to the API reference', async () => {
    const root = await request(t.app).get('/').expect(302);
    expect(root.headers.location).toBe('/docs');
  });

  it('answers operations, keys and development tokens as documented', async () => {
    await t.api.get('/healthz').expect(200);
    await t.api.get('/readyz'); // 200 or 503 with Retry-After, both documented
    await t.api.get('/metrics').expect(404); // served only behind METRICS_TOKEN or on METRICS_PORT
    await t.api.get('/v1/keys').expect(200);
    await t.api.post('/v1/dev/token').send({ sub: 'u1', roles: ['read'], units: ['BA-Vertrag'] }).expect(200);
    await t.api.post('/v1/dev/token').send({ sub: '' }).expect(400);
    await t.api.post('/v1/dev/token').set('Content-Type', 'application/json').send('{').expect(400);
  });

  it('answers a capture, the document, the feed and its content as documented', async () => {
    const bearer = (token: string) => `Bearer ${token}`;
    const created = await attachCapture(
      t.api.post('/v1/documents').set('Authorization', bearer(t.tokens.capturer)).set('Idempotency-Key', crypto.randomUUID()),
      { title: 'Vertragstest', caseNumber: 'AZ 9-1/26', source: 'scanner' },
      [{ body: await pdfWithText('Vertrag', 2), contentType: 'application/pdf' }],
    ).expect(201);
    const self = created.headers.location as string;
    await t.api.get(self).set('Authorization', bearer(t.tokens.archivist)).expect(200);
    await t.api.get('/v1/documents?limit=10&caseNumber=AZ%209-1%2F26').set('Authorization', bearer(t.tokens.archivist)).expect(200);
    await t.api.get(`${self}/content`).set('Authorization', bearer(t.tokens.archivist)).responseType('blob').expect(200);
    await t.api.get(`${self}/content?variant=original&part=1`).set('Authorization', bearer(t.tokens.archivist)).set('Range', 'bytes=0-9').responseType('blob').expect(206);
    await t.api.get(`${self}/content`).set('Authorization', bearer(t.tokens.archivist)).set('Range', 'bytes=99999999-').expect(416);
    await t.api.get(`${self}/content?variant=original&part=7`).set('Authorization', bearer(t.tokens.archivist)).expect(404);
  });

  it('answers refusals as documented problems', async () => {
    await t.api.get('/v1/documents').expect(401);
    await t.api.get('/v1/documents').set('Authorization', `Bearer ${t.tokens.capturer}`).expect(403);
    await t.api.get('/v1/documents?limit=501').set('Authorization', `Bearer ${t.tokens.archivist}`).expect(400);
    await t.api.get('/v1/documents/01JD3Z0J3T3X4Q8V5N2M7K9R6S').set('Authorization', `Bearer ${t.tokens.archivist}`).expect(404);
    await t.api.post('/v1/documents').set('Authorization', `Bearer ${t.tokens.capturer}`).send({ title: 'not multipart' }).expect(415);
    await attachCapture(t.api.post('/v1/documents').set('Authorization', `Bearer ${t.tokens.capturer}`), { title: 'Geheim', classification: 'GEHEIM' }, [
      { body: await pdfWithText('x'), contentType: 'application/pdf' },
    ]).expect(422);
  });
});

interface OpenApiDoc {
  paths: Record<string, Record<string, { responses?: Record<string, unknown> }>>;
  components: { schemas: { ProblemCode: { enum: ErrorCode[] } }; responses: Record<string, unknown> };
}

/** [where, status, codes] for every documented problem response that narrows `code`. */
function documentedProblemCodes(doc: OpenApiDoc): Array<[string, number, ErrorCode[]]> {
  const found: Array<[string, number, ErrorCode[]]> = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        const codes = narrowedCodes(doc, response);
        if (codes.length > 0) found.push([`${method.toUpperCase()} ${path}`, Number(status), codes]);
      }
    }
  }
  return found;
}

function narrowedCodes(doc: OpenApiDoc, response: unknown): ErrorCode[] {
  const resolve = (value: unknown): unknown => {
    const ref = (value as { $ref?: string }).$ref;
    return ref ? resolve(ref.slice(2).split('/').reduce<unknown>((n, k) => (n as Record<string, unknown>)[k], doc)) : value;
  };
  const schema = resolve((resolve(response) as { content?: Record<string, { schema: unknown }> }).content?.['application/problem+json']?.schema ?? {});
  const parts = [schema, ...(((schema as { allOf?: unknown[] }).allOf ?? []).map(resolve))] as Array<{ properties?: { code?: { const?: ErrorCode; enum?: ErrorCode[] } } }>;
  return parts.flatMap((p) => (p.properties?.code?.const ? [p.properties.code.const] : (p.properties?.code?.enum ?? [])));
}
