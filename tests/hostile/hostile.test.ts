/**
 * Hostile-input suite: every case of cases.ts goes through the public API of a real app (encrypted
 * store, worker pool). Checked for each: the stated outcome, no 5xx, bounded memory (a hang fails on the test's timeout), the
 * process still answering /healthz, and nothing stored for a refusal; accepted renditions are
 * inspected like a reader (marking visible on every page) and an attacker (no active content) would.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Test } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pickKey } from '../../testkit/capture-fixtures.ts';
import { openapiAgent, openapiContract, type OpenApiAgent } from '../support/openapi.ts';
import { startTestApp, type TestApp } from '../../testkit/test-app.ts';
import { allDicts, nameValue, readPages } from '../fixtures/inspect.ts';
import { darkPixels, pdffonts, pdfinfo, pikepdfReport, qpdfCheck, renderAll, type GrayPage, type Reader } from '../fixtures/pdf-readers.ts';
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

  /** Rows of the marking bands of a page `heightPt` tall with short side `shortPt`, rendered `rows` high (the bands of marking.ts). */
  function bandRows(page: GrayPage, widthPt: number, heightPt: number): { header: number; footer: number } {
    const scale = Math.min(4, Math.max(1, Math.min(widthPt, heightPt) / 595.28));
    return { header: Math.floor((24 * scale * page.height) / heightPt), footer: Math.floor((18 * scale * page.height) / heightPt) };
  }

  /** pdf.js, MuPDF and poppler each draw the level at the top and the footer at the bottom of every page, and count the pages alike. */
  async function checkSeenByReaders(pdf: Buffer, pages: number): Promise<void> {
    const info = await pdfinfo(pdf);
    expect(info.pages, 'poppler page count').toBe(pages);
    for (const reader of ['pdf.js', 'MuPDF', 'poppler'] as Reader[]) {
      const rendered = await renderAll(reader, pdf, 60);
      expect(rendered, `${reader} page count`).toHaveLength(pages);
      rendered.forEach((page, i) => {
        const [w, h] = info.sizes[i]!;
        const bands = bandRows(page, w, h);
        expect(darkPixels(page, 0, bands.header), `${reader}: level marking drawn at the top of page ${i + 1}`).toBeGreaterThan(60);
        expect(darkPixels(page, page.height - bands.footer, page.height), `${reader}: footer drawn at the bottom of page ${i + 1}`).toBeGreaterThan(30);
      });
    }
  }

  /** The archive-format promises, checked by poppler, qpdf and pikepdf. */
  async function checkArchiveFormat(pdf: Buffer, pages: number): Promise<void> {
    const fonts = await pdffonts(pdf);
    expect(fonts.length).toBeGreaterThan(0);
    expect(fonts.filter((f) => !f.embedded), 'fonts not embedded').toEqual([]);
    const { xmp } = await pdfinfo(pdf);
    expect(xmp).toContain('<pdfaid:part>2</pdfaid:part>');
    expect(xmp).toContain('<pdfaid:conformance>B</pdfaid:conformance>');
    const qpdf = await qpdfCheck(pdf);
    expect(qpdf.ok, qpdf.report).toBe(true);
    expect(qpdf.report).toContain('No syntax or stream encoding errors found');
    expect(qpdf.report).not.toMatch(/WARNING/);
    expect(qpdf.pages).toBe(pages);
    const pike = await pikepdfReport(pdf);
    expect(pike).toMatchObject({ pages, outputIntent: true, outputCondition: '/GTS_PDFA1', id: true, encrypted: false, unreachable: 0 });
    expect(pike.largestStream).toBeLessThanOrEqual(32 * 2 ** 20);
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
    // Joined: pdf.js splits runs of a Type 3 font into words.
    if (expected.text) expect(pages[0]!.texts.map((x) => x.str).join(' ').replace(/\s+/g, ' ')).toContain(expected.text);
    // One footer a page: a page listed twice in the tree must not carry two.
    pages.forEach((page, i) => expect(page.texts.filter((x) => /Seite \d+ von \d+/.test(x.str)), `footers on page ${i + 1}`).toHaveLength(1));
    await checkSeenByReaders(pdf, expected.pages);
    await checkArchiveFormat(pdf, expected.pages);
    if (expected.sizes) {
      const { sizes } = await pdfinfo(pdf);
      expect(sizes.map(([w, h]) => [Math.round(w), Math.round(h)])).toEqual(expected.sizes);
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
      const rssBefore = process.memoryUsage.rss();
      const { value: answer, peak } = await withPeakRss(() => (request.kind === 'raw' ? sendRaw(request) : sendForm(request)));
      if (c.maxRssGrowthMib !== undefined) expect(peak - rssBefore, 'RSS growth').toBeLessThan(c.maxRssGrowthMib * 2 ** 20);

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
    }, c.timeoutMs);
  }
});
