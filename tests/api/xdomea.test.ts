/**
 * xdomea 3.0.0 handover through the HTTP API: every message the service produces validates against
 * the official schemas with xmllint and with Java; the ZIP is read by Python's zipfile and unzip;
 * the hashes in the message match the files; refusals export nothing.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compactVerify, createLocalJWKSet } from 'jose';
import { PDFDocument, PDFName } from 'pdf-lib';
import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachCapture, jpegWithMarker, newMarker, pdfWithText } from '../../testkit/capture-fixtures.ts';
import { openapiAgent } from '../support/openapi.ts';
import { startTestApp, type TestApp } from '../../testkit/test-app.ts';
import { binary, schemeDir, unpack, validateBoth, type Unpacked } from '../support/xdomea.ts';

const UNIT = 'BA-Mitte';
const MESSAGE = 'FVDaten.SGOAblegen.0605';
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Values selected by an XPath over local names, read by xmllint (libxml2), not by our code. */
async function xpath(xml: Buffer | string, expression: string): Promise<string[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vsc-xpath-'));
  try {
    const file = path.join(dir, 'm.xml');
    await writeFile(file, xml);
    // Each match on its own line: concatenate with a separator the data never holds.
    const out = execFileSync('xmllint', ['--xpath', expression, file], { encoding: 'utf8' });
    return out.split('\n').filter((l) => l !== '');
  } catch (err) {
    // xmllint exits 10 when the XPath selects nothing.
    if ((err as { status?: number }).status === 10) return [];
    throw err;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const ln = (...names: string[]) => names.map((n) => `/*[local-name()='${n}']`).join('');
const all = (name: string) => `//*[local-name()='${name}']`;
const texts = (xml: Buffer, expression: string) => xpath(xml, `${expression}/text()`).then(unescapeLines);
/** `--xpath .../text()` prints text nodes as XML text (escaped); turn them back into strings. */
function unescapeLines(lines: string[]): string[] {
  return lines.map((l) => l.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&'));
}

describe('xdomea 3.0.0 export', () => {
  let t: TestApp;
  const tokens: Record<string, string> = {};
  const agent = () => openapiAgent(t.app);

  beforeAll(async () => {
    schemeDir(); // fails the file at once, naming where it looked, when the schemas are missing
    t = await startTestApp({ XDOMEA_SENDER_INSTITUTION: 'Bezirksamt Mitte & Süd', XDOMEA_RECIPIENT_INSTITUTION: 'E-Akte "Bund"', XDOMEA_RECIPIENT_UNIT: 'Registratur' });
    const people = { capturer: ['capture'], archive: ['export'], reader: ['read'], auditor: ['audit'], reviewer: ['review'] } as const;
    for (const [sub, roles] of Object.entries(people)) tokens[sub] = await t.token({ sub, name: `Frau ${sub} Österreicher`, roles: [...roles], units: [UNIT] });
    tokens.foreign = await t.token({ sub: 'foreign', name: 'Fremd', roles: ['export'], units: ['BA-Sued'] });
  });
  afterAll(async () => {
    await t?.close();
  });

  const auth = (who: string) => ({ Authorization: `Bearer ${tokens[who]}` });

  async function capture(metadata: Record<string, unknown>, parts?: Array<{ body: Buffer; contentType: string }>): Promise<{ id: string; parts: Buffer[] }> {
    const files = parts ?? [{ body: await pdfWithText('Seite'), contentType: 'application/pdf' }];
    const res = await attachCapture(agent().post('/v1/documents').set(auth('capturer')), { source: 'scanner', ...metadata }, files).expect(201);
    return { id: res.body.id as string, parts: files.map((f) => f.body) };
  }

  const exportOne = (id: string, who = 'archive', query = '') =>
    agent().get(`/v1/documents/${id}/xdomea${query}`).set(auth(who)).buffer(true).parse(binary);

  async function auditTypes(id: string): Promise<string[]> {
    const res = await agent().get(`/v1/documents/${id}/audit`).set(auth('auditor')).expect(200);
    return (res.body.entries as Array<{ type: string }>).map((e) => e.type);
  }

  /** The ZIP's file name, its entries, and the message both validators accepted. */
  async function received(res: Response): Promise<{ processId: string; zip: Unpacked; xml: Buffer }> {
    expect(res.headers['content-type']).toBe('application/zip');
    const name = new RegExp(`^attachment; filename="(${UUID})_${MESSAGE.replace(/\./g, '\\.')}\\.zip"$`).exec(res.headers['content-disposition'] ?? '');
    expect(name).not.toBeNull();
    const processId = name![1]!;
    const zip = await unpack(res.body as Buffer);
    const xml = zip.files.get(`${processId}_${MESSAGE}.xml`);
    expect(xml, `entries: ${zip.names.join(', ')}`).toBeDefined();
    const verdicts = await validateBoth([xml!.toString('utf8')]);
    expect(verdicts.xmllint[0], verdicts.xmllint[0]!.output).toMatchObject({ valid: true });
    expect(verdicts.java[0], verdicts.java[0]!.output).toMatchObject({ valid: true });
    expect(await texts(xml!, `${all('Kopf')}${ln('ProzessID')}`)).toEqual([processId]);
    return { processId, zip, xml: xml! };
  }

  /** Every file the message names is in the ZIP, and every digest in the message is the file's. */
  async function expectHashesMatch(zip: Unpacked, xml: Buffer): Promise<void> {
    const named = [...(await texts(xml, all('Dateiname'))), ...(await texts(xml, all('SignaturSiegelDatei')))];
    for (const name of named) expect(zip.files.has(name), name).toBe(true);
    const groups = await texts(xml, `${all('Feldgruppe')}${ln('Name')}`);
    const digests = await texts(xml, `${all('Feldgruppe')}${ln('Feld')}[*[local-name()='Name']='SHA-256']${ln('Wert')}`);
    expect(groups.length).toBeGreaterThan(0);
    expect(digests).toHaveLength(groups.length);
    groups.forEach((g, i) => expect(sha256(zip.files.get(g)!), g).toBe(digests[i]));
    // Nothing in the ZIP that the message does not describe.
    expect(new Set([...zip.files.keys()].filter((n) => !n.endsWith(`_${MESSAGE}.xml`)))).toEqual(new Set(groups));
  }

  it('exports one document: valid for xmllint and Java, files and hashes as named, special characters intact', async () => {
    const title = `Anhörung & "Widerspruch" <Müller> 'Straße' ${newMarker()}`;
    const caseNumber = 'AZ 12-345/26 & Ä<ß>';
    const jpeg = await jpegWithMarker(newMarker());
    const { id, parts } = await capture({ title, caseNumber, device: { app: 'SecurePIM', version: '9.1', model: 'iPhone 15' } }, [
      { body: await declaringPdfa2b(await pdfWithText('Bescheid', 2)), contentType: 'application/pdf' },
      { body: jpeg, contentType: 'image/jpeg' },
    ]);
    await agent().post(`/v1/documents/${id}/review`).set(auth('reviewer')).send({ decision: 'approved', note: 'Lesbar & vollständig' }).expect(200);
    const before = await auditTypes(id);

    const res = await exportOne(id).expect(200);
    const { processId, zip, xml } = await received(res);
    expect(zip.names.at(-1)).toBe(`${processId}_${MESSAGE}.xml`);

    expect(await texts(xml, `${all('Dokument')}${ln('AllgemeineMetadaten', 'Betreff')}`)).toEqual([title]);
    expect(await texts(xml, `${all('Dokument')}${ln('AllgemeineMetadaten', 'Kennzeichen')}`)).toEqual([caseNumber]);
    expect(await texts(xml, `${all('Dokument')}${ln('AllgemeineMetadaten', 'Vertraulichkeitsstufe', 'code')}`)).toEqual(['002']);
    expect(await texts(xml, `${all('Nachrichtentyp')}${ln('code')}`)).toEqual(['0605']);
    expect(await texts(xml, `${all('Absender')}${ln('Institution', 'Name')}`)).toEqual(['Bezirksamt Mitte & Süd']);
    expect(await texts(xml, `${all('Absender')}${ln('Organisationseinheit', 'Name')}`)).toEqual([UNIT]);
    expect(await texts(xml, `${all('Empfaenger')}${ln('Institution', 'Name')}`)).toEqual(['E-Akte "Bund"']);
    expect(await texts(xml, `${all('Empfaenger')}${ln('Organisationseinheit', 'Name')}`)).toEqual(['Registratur']);
    expect(await texts(xml, all('Erstellerkennung'))).toEqual(['archive']);
    expect(await texts(xml, `${all('HistorienProtokollInformation')}${ln('Aktion')}`)).toEqual([
      'Erfasst (ersetzendes Scannen, BSI TR-03138)',
      'Qualitätsprüfung: freigegeben',
    ]);
    const record = (await agent().get(`/v1/documents/${id}`).set(auth('archive')).expect(200)).body;
    expect(await texts(xml, `${all('HistorienProtokollInformation')}${ln('DatumUhrzeit')}`)).toEqual([record.transferNote.capturedAt, record.transferNote.review.at]);

    await expectHashesMatch(zip, xml);
    // The rendition is the stored one, byte for byte; the originals are as received.
    const [rendition, ...originals] = await texts(xml, `${all('Dokument')}${ln('Version', 'Format', 'Primaerdokument', 'Dateiname')}`);
    const content = await agent().get(`/v1/documents/${id}/content`).set(auth('archive')).buffer(true).parse(binary).expect(200);
    expect(zip.files.get(rendition!)!.equals(content.body as Buffer)).toBe(true);
    expect(originals.map((n) => zip.files.get(n))).toEqual(parts);
    expect(rendition).toMatch(new RegExp(`^${UUID}_Scanprodukt\\.pdf$`));

    // Format codes exist in the code list beside the schemas; the rendition's matches what it declares (poppler reads the XMP).
    const codes = await texts(xml, `${all('Dokument')}${ln('Version', 'Format', 'Name', 'code')}`);
    const list = codeList('Dateiformat_1.0.xml');
    for (const c of codes) expect(list.has(c), c).toBe(true);
    const meta = pdfMetadata(content.body as Buffer);
    const declaresPdfa2b = /pdfaid:part>\s*2\s*</.test(meta) && /pdfaid:conformance>\s*B\s*</i.test(meta);
    // The PDF original declares PDF/A-2b in its XMP: 044 (pdf, Archival) with that version; the JPEG is 011.
    expect(codes).toEqual([declaresPdfa2b ? '044' : '018', '044', '011']);
    const versions = await texts(xml, `${all('Dokument')}${ln('Version', 'Format', 'Version')}`);
    expect(versions[0]).toMatch(declaresPdfa2b ? /^PDF\/A-2b$/ : /^1\.\d$/);
    expect(versions[1]).toBe('PDF/A-2b');

    // The transfer note is the record's; the manifest verifies with the published key and names the rendition's digest.
    const noteName = (await texts(xml, `${all('Anlage')}${ln('Version', 'Format', 'Primaerdokument', 'Dateiname')}`))[0]!;
    expect(JSON.parse(zip.files.get(noteName)!.toString('utf8'))).toEqual(record.transferNote);
    const sealName = (await texts(xml, all('SignaturSiegelDatei')))[0]!;
    const jwks = (await agent().get('/v1/keys').expect(200)).body;
    const { payload } = await compactVerify(zip.files.get(sealName)!.toString('utf8'), createLocalJWKSet(jwks));
    const claims = JSON.parse(new TextDecoder().decode(payload));
    expect(claims.rendition.sha256).toBe(sha256(zip.files.get(rendition!)!));
    expect(claims.transferNote).toEqual(record.transferNote);

    const after = await auditTypes(id);
    expect(after.slice(before.length)).toEqual(['xdomea_exported', 'manifest_exported', 'content_exported', 'content_exported', 'content_exported', 'content_exported']);
    const entries = (await agent().get(`/v1/documents/${id}/audit`).set(auth('auditor')).expect(200)).body.entries as Array<{ type: string; details: Record<string, unknown> }>;
    expect(entries.find((e) => e.type === 'xdomea_exported')!.details).toMatchObject({ processId, message: MESSAGE });
  });

  it('leaves the originals out on request', async () => {
    const { id } = await capture({ title: 'Nur Rendition', classification: 'OFFEN' });
    const { zip, xml } = await received(await exportOne(id, 'archive', '?originals=false').expect(200));
    expect(await texts(xml, `${all('Dokument')}${ln('Version', 'Format', 'Primaerdokument', 'Dateiname')}`)).toHaveLength(1);
    expect(await texts(xml, `${all('Dokument')}${ln('AllgemeineMetadaten', 'Vertraulichkeitsstufe', 'code')}`)).toEqual(['003']);
    expect(await texts(xml, `${all('Dokument')}${ln('AllgemeineMetadaten', 'Kennzeichen')}`)).toEqual([]);
    expect(zip.files.size).toBe(4);
    await expectHashesMatch(zip, xml);
  });

  it('answers callers without export or outside the unit like the content endpoint, and exports nothing', async () => {
    const { id } = await capture({ title: 'Geschützt', caseNumber: 'AZ 1' });
    const before = await auditTypes(id);
    const forbidden = await exportOne(id, 'reader').expect(403);
    expect(forbidden.headers['content-type']).toMatch(/^application\/problem\+json/);
    await agent().get(`/v1/documents/${id}/content`).set(auth('reader')).expect(403);
    const hidden = await exportOne(id, 'foreign').expect(404);
    expect(hidden.headers['content-type']).toMatch(/^application\/problem\+json/);
    await agent().get(`/v1/documents/${id}/content`).set(auth('foreign')).expect(404);
    await agent().post('/v1/xdomea/vorgang').set(auth('foreign')).send({ documentIds: [id] }).expect(404);
    expect(await auditTypes(id)).toEqual(before);
  });

  it.each([
    { field: 'title', metadata: { title: 'Anhörung – Bescheid' }, character: 'U+2013' },
    { field: 'title', metadata: { title: 'Заявление' }, character: 'U+0417' },
    { field: 'caseNumber', metadata: { title: 'Akte', caseNumber: 'AZ 7 → 8' }, character: 'U+2192' },
  ])('refuses $character in $field with a problem naming the field, exporting nothing', async ({ field, metadata, character }) => {
    const { id } = await capture(metadata);
    const before = await auditTypes(id);
    const res = await agent().get(`/v1/documents/${id}/xdomea`).set(auth('archive')).expect(422);
    expect(res.body).toMatchObject({ code: 'xdomea_not_representable', field, character });
    expect(res.body.detail).toMatch(new RegExp(`^Das Feld '${field}'`));
    const english = await agent().get(`/v1/documents/${id}/xdomea`).set(auth('archive')).set('Accept-Language', 'en').expect(422);
    expect(english.body.detail).toMatch(new RegExp(`^Field '${field}'`));
    expect(await auditTypes(id)).toEqual(before);
  });

  it('exports several documents of one case as one Vorgang', async () => {
    const caseNumber = `AZ 99-${newMarker()}`;
    const ids = [];
    for (const title of ['Antrag', 'Nachweis & Anlage', 'Bescheid']) ids.push((await capture({ title, caseNumber })).id);
    const res = await agent().post('/v1/xdomea/vorgang').set(auth('archive')).send({ documentIds: ids }).buffer(true).parse(binary).expect(200);
    const { zip, xml } = await received(res);
    expect(await texts(xml, `${all('Schriftgutobjekt')}${ln('Vorgang', 'AllgemeineMetadaten', 'Kennzeichen')}`)).toEqual([caseNumber]);
    expect(await texts(xml, `${all('Vorgang')}${ln('Dokument', 'AllgemeineMetadaten', 'Betreff')}`)).toEqual(['Antrag', 'Nachweis & Anlage', 'Bescheid']);
    expect(await texts(xml, `${all('Vorgang')}${ln('Dokument', 'Identifikation', 'NummerImUebergeordnetenContainer')}`)).toEqual(['1', '2', '3']);
    expect(await texts(xml, all('FachverfahrenObjektID'))).toEqual([caseNumber]);
    await expectHashesMatch(zip, xml);
    for (const id of ids) expect(await auditTypes(id)).toContain('xdomea_exported');

    // The same case names the same Vorgang again.
    const again = await received(await agent().post('/v1/xdomea/vorgang').set(auth('archive')).send({ documentIds: ids.slice(0, 1) }).buffer(true).parse(binary).expect(200));
    expect(await texts(again.xml, `${all('Vorgang')}${ln('Identifikation', 'ID')}`)).toEqual(await texts(xml, `${all('Vorgang')}${ln('Identifikation', 'ID')}`));
  });

  it('refuses a Vorgang of mixed case numbers or repeated documents before exporting anything', async () => {
    const a = (await capture({ title: 'A', caseNumber: 'AZ A' })).id;
    const b = (await capture({ title: 'B', caseNumber: 'AZ B' })).id;
    const before = await auditTypes(a);
    const mixed = await agent().post('/v1/xdomea/vorgang').set(auth('archive')).send({ documentIds: [a, b] }).expect(400);
    expect(mixed.body.detail).toContain(b);
    await agent().post('/v1/xdomea/vorgang').set(auth('archive')).send({ documentIds: [a, a] }).expect(400);
    await agent().post('/v1/xdomea/vorgang').set(auth('archive')).send({ documentIds: [] }).expect(400);
    expect(await auditTypes(a)).toEqual(before);
  });

  it('both validators reject a deliberately broken message', async () => {
    const { id } = await capture({ title: 'Kaputt', caseNumber: 'AZ 0' });
    const { processId, xml } = await received(await exportOne(id).expect(200));
    const text = xml.toString('utf8');
    const broken = [
      text.replace(`<xdomea:ProzessID>${processId}</xdomea:ProzessID>`, '<xdomea:ProzessID>not-a-uuid</xdomea:ProzessID>'),
      text.replace(/<xdomea:Erstellerkennung>[^<]*<\/xdomea:Erstellerkennung>/, ''),
      text.replace('<xdomea:Importbestaetigung>1</xdomea:Importbestaetigung>', '<xdomea:Importbestaetigung>0</xdomea:Importbestaetigung>'),
    ];
    for (const b of broken) expect(b).not.toBe(text);
    const verdicts = await validateBoth(broken);
    expect(verdicts.xmllint.map((v) => v.valid)).toEqual([false, false, false]);
    expect(verdicts.java.map((v) => v.valid)).toEqual([false, false, false]);
  });
});

/** Codes of a genericode list beside the schemas, read with Python's XML parser. */
function codeList(file: string): Set<string> {
  const script = `
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
for row in root.iter('Row'):
    for value in row.iter('Value'):
        if value.get('ColumnRef') == 'Code':
            print(value.findtext('SimpleValue'))
`;
  const out = execFileSync('/usr/bin/python3', ['-c', script, path.join(schemeDir(), 'xdomea_3.0.0', 'code_lists', file)], { encoding: 'utf8' });
  return new Set(out.split('\n').filter(Boolean));
}

/** The XMP metadata of a PDF as poppler reads it. */
function pdfMetadata(pdf: Buffer): string {
  return execFileSync('pdfinfo', ['-meta', '-'], { input: pdf, encoding: 'utf8' });
}

/** The PDF with an uncompressed XMP packet declaring PDF/A-2b (only the declaration: the export reads what a file says of itself). */
async function declaringPdfa2b(pdf: Buffer): Promise<Buffer> {
  const doc = await PDFDocument.load(pdf);
  const xmp = `<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"><pdfaid:part>2</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance></rdf:Description>
</rdf:RDF></x:xmpmeta><?xpacket end="w"?>`;
  const stream = doc.context.stream(Buffer.from(xmp, 'utf8'), { Type: 'Metadata', Subtype: 'XML' });
  doc.catalog.set(PDFName.of('Metadata'), doc.context.register(stream));
  return Buffer.from(await doc.save({ useObjectStreams: false }));
}
