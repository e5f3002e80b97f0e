/**
 * Hostile-input suite: every case of cases.ts goes through the public API of a real app (encrypted
 * store, worker pool). Checked for each: the stated outcome, no 5xx, bounded memory (a hang fails on the test's timeout), the
 * process still answering /healthz, and nothing stored for a refusal; accepted renditions are
 * inspected like a reader (marking visible on every page) and an attacker (no active content) would.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import type { Test } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pickKey } from '../support/capture-fixtures.ts';
import { openapiAgent, openapiContract, type OpenApiAgent } from '../support/openapi.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';
import { allDicts, nameValue, readPages, renderedPagePng } from '../fixtures/inspect.ts';
import { caseNames, cases, hostileEnv, type AcceptedExpectation, type CaseContext, type FilePart, type FormRequest, type RawRequest } from './cases.ts';

const UNIT = 'BA-Hostil';
const LEVEL = 'VS-NUR FÜR DEN DIENSTGEBRAUCH';
/** Peak resident memory of the whole test process (app and worker threads) during one case. */
const RSS_BOUND_BYTES = 2 * 2 ** 30;
const STORED_PREFIXES = ['documents/', 'feed/', 'idempotency/', 'uploads/'];
const forbiddenActions = ['JavaScript', 'Launch', 'ImportData', 'SubmitForm', 'GoToR', 'GoToE', 'RichMediaExecute', 'Rendition'];
const forbiddenKeys = ['JS', 'AA', 'OpenAction', 'EF', 'EmbeddedFiles', 'XFA', 'JavaScript', 'AF'];

interface Answer {
  status: number;
  contentType: string;
  body: Record<string, unknown>;
}

describe('hostile inputs through POST /v1/documents', () => {
  let t: TestApp;
  let api: OpenApiAgent;
  let server: http.Server;
  let port: number;
  let token: string;
  let ctx: CaseContext;

  beforeAll(async () => {
    t = await startTestApp(hostileEnv);
    api = openapiAgent(t.app);
    server = t.app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
    token = await t.token({ sub: 'u-hostile', roles: ['capture', 'read', 'export'], units: [UNIT] });
    const jwks = (await api.get('/v1/keys').expect(200)).body;
    ctx = { ecKey: pickKey(jwks, 'ECDH-ES+A256KW', 'P-256'), rsaKey: pickKey(jwks, 'RSA-OAEP-256') };
  });
  afterAll(async () => {
    server?.close();
    await t?.close();
  });

  async function storedKeys(): Promise<string[]> {
    const lists = await Promise.all(STORED_PREFIXES.map((prefix) => t.deps.store.list({ prefix })));
    return lists.flat().map((o) => o.key).sort();
  }

  function attach(req: Test, field: string, part: FilePart, index: number): Test {
    return req.attach(field, Buffer.from(part.body), { filename: part.filename ?? `part-${index + 1}`, contentType: part.contentType });
  }

  async function sendForm(request: FormRequest): Promise<Answer> {
    let req = api.post('/v1/documents').set('Authorization', `Bearer ${token}`);
    const { metadata } = request;
    if (typeof metadata === 'string') req = req.field('metadata', metadata);
    else if ('contentType' in metadata && 'body' in metadata) req = attach(req, 'metadata', metadata as FilePart, 0);
    else req = req.field('metadata', JSON.stringify(metadata));
    request.files.forEach((file, i) => (req = attach(req, 'file', file, i)));
    request.extra?.forEach(({ field, part }, i) => (req = attach(req, field, part, i)));
    const res = await req;
    return { status: res.status, contentType: String(res.headers['content-type']), body: res.body as Record<string, unknown> };
  }

  /** Writes the bytes as given and checks the exchange against openapi.yaml like the agent does. */
  async function sendRaw(request: RawRequest): Promise<Answer> {
    const headers = {
      authorization: `Bearer ${token}`,
      'content-type': request.contentType,
      'content-length': String(request.contentLength ?? request.body.length),
    };
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/documents', headers });
    // A server that answers before reading everything may reset the connection under the writer.
    req.on('error', () => undefined);
    req.end(request.body);
    const [res] = (await once(req, 'response')) as [http.IncomingMessage];
    const text = Buffer.concat(await res.toArray()).toString('utf8');
    const contentType = String(res.headers['content-type']);
    const body = /json/.test(contentType) ? (JSON.parse(text) as Record<string, unknown>) : {};
    openapiContract().assert({
      method: 'POST',
      url: '/v1/documents',
      requestHeaders: headers,
      status: res.statusCode ?? 0,
      headers: res.headers as Record<string, string>,
      body,
      hasBody: text.length > 0,
    });
    return { status: res.statusCode ?? 0, contentType, body };
  }

  /** Peak RSS while `work` runs, sampled every 25 ms. */
  async function withPeakRss<T>(work: () => Promise<T>): Promise<{ value: T; peak: number }> {
    let peak = process.memoryUsage.rss();
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 25);
    try {
      return { value: await work(), peak };
    } finally {
      clearInterval(timer);
    }
  }

  async function fetchRendition(id: string): Promise<Buffer> {
    const res = await api.get(`/v1/documents/${id}/content`).set('Authorization', `Bearer ${token}`).responseType('blob').expect(200);
    return res.body as Buffer;
  }

  /** Dark pixels in the top and bottom bands of page `index` as pdf.js (the viewer's renderer) draws it. */
  async function darkPixelsInBands(pdf: Buffer, index: number): Promise<{ top: number; bottom: number }> {
    const { bytes } = await renderedPagePng(pdf, index, 1200);
    const { data, info } = await sharp(bytes).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    const band = Math.ceil(info.height * 0.03);
    const dark = (from: number, to: number) => {
      let n = 0;
      for (let i = from * info.width; i < to * info.width; i++) if (data[i]! < 128) n++;
      return n;
    };
    return { top: dark(0, band), bottom: dark(info.height - band, info.height) };
  }

  async function checkAccepted(expected: AcceptedExpectation, body: Record<string, unknown>): Promise<void> {
    expect(body.pageCount).toBe(expected.pages);
    const codes = ((body.transferNote as { findings: Array<{ code: string }> }).findings ?? []).map((f) => f.code);
    for (const code of expected.findings ?? []) expect(codes).toContain(code);
    const pdf = await fetchRendition(String(body.id));
    const pages = await readPages(pdf);
    expect(pages).toHaveLength(expected.pages);
    pages.forEach((page, i) => {
      const header = page.texts.find((x) => x.str === LEVEL);
      expect(header, `level marking on page ${i + 1}`).toBeDefined();
      expect(header!.upright).toBe(true);
      expect(header!.y).toBeGreaterThan(0);
      expect(header!.y).toBeLessThan(page.height * 0.06);
      expect(page.texts.some((x) => x.str.includes(`Seite ${i + 1} von ${expected.pages}`)), `footer on page ${i + 1}`).toBe(true);
    });
    if (expected.text) expect(pages[0]!.texts.some((x) => x.str.includes(expected.text!))).toBe(true);
    for (const index of new Set([0, expected.pages - 1])) {
      const dark = await darkPixelsInBands(pdf, index);
      expect(dark.top, `marking drawn visibly at the top of page ${index + 1}`).toBeGreaterThan(50);
      expect(dark.bottom, `footer drawn visibly on page ${index + 1}`).toBeGreaterThan(30);
    }
    for (const dict of await allDicts(pdf)) {
      expect(forbiddenActions).not.toContain(nameValue(dict, 'S'));
      expect(['EmbeddedFile', 'Filespec']).not.toContain(nameValue(dict, 'Type'));
      for (const key of forbiddenKeys) expect(dict.keys().map((k) => k.decodeText())).not.toContain(key);
    }
    const text = pdf.toString('latin1');
    for (const needle of expected.absent ?? []) expect(text).not.toContain(needle);
  }

  it('has at least 40 uniquely named cases', () => {
    expect(caseNames().length).toBeGreaterThanOrEqual(40);
  });

  for (const c of cases) {
    const outcome = c.expect.status === 201 ? '201 accepted and clean' : `${c.expect.status} ${c.expect.code}`;
    it(`${c.group}: ${c.name} → ${outcome}`, async () => {
      const request = await c.build(ctx);
      const before = await storedKeys();
      // A hang runs into the test's timeout; time is not measured here (the processing budget is the service's own clock).
      const { value: answer, peak } = await withPeakRss(() => (request.kind === 'raw' ? sendRaw(request) : sendForm(request)));

      expect(answer.status, `no 5xx (${JSON.stringify(answer.body)})`).toBeLessThan(500);
      expect(peak).toBeLessThan(RSS_BOUND_BYTES);
      await api.get('/healthz').expect(200);

      if (c.expect.status === 201) {
        expect(answer.status, JSON.stringify(answer.body)).toBe(201);
        await checkAccepted(c.expect, answer.body);
        return;
      }
      expect({ status: answer.status, code: answer.body.code }).toEqual({ status: c.expect.status, code: c.expect.code });
      expect(answer.contentType).toMatch(/^application\/problem\+json/);
      expect(answer.body.detail).toEqual(expect.any(String));
      expect(await storedKeys()).toEqual(before);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  }
});
