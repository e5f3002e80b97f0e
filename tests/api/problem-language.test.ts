/**
 * Problems speak to the person who made the mistake: German unless the caller prefers English
 * (Accept-Language), in our own words, saying what was wrong and what to send instead.
 */
import request, { type Test } from 'supertest';
import { ulid } from 'ulid';
import { beforeAll, describe, expect, it } from 'vitest';
import { encryptPdf, textPdf } from '../../testkit/fixtures/pdfs.ts';
import { attachCapture, pdfWithText } from '../../testkit/capture-fixtures.ts';
import type { TestApp } from '../../testkit/test-app.ts';
import { withTestApp } from '../../testkit/with-test-app.ts';

/** What a validator library would say by itself; none of it may reach a person. */
const RAW_VALIDATOR = /Invalid input|expected string|received undefined|Unrecognized key|Too small|Invalid option/;

describe('problem details in the caller language', () => {
  const t = withTestApp({ users: { capturer: { sub: 'cap', roles: ['capture'], units: ['BA-Nord'] } } });
  let pdf: Buffer;

  beforeAll(async () => {
    pdf = await pdfWithText('Sprache');
  });

  const capture = (metadata: object, language?: string) => {
    const req = request(t.app).post('/v1/documents').set('Authorization', `Bearer ${t.tokens.capturer}`);
    if (language) req.set('Accept-Language', language);
    return attachCapture(req, metadata, [{ body: pdf, contentType: 'application/pdf' }]);
  };

  it('answers in German by default and in English when asked, with Content-Language', async () => {
    const german = await capture({}).expect(400);
    expect(german.headers['content-language']).toBe('de');
    expect(german.body.title).toBe('Eingaben ungültig');
    expect(german.body.errors).toEqual([{ field: 'title', message: 'fehlt; dieses Feld ist erforderlich' }]);
    expect(german.headers.vary).toMatch(/Accept-Language/);
    const english = await capture({}, 'en-GB,en;q=0.9').expect(400);
    expect(english.headers['content-language']).toBe('en');
    expect(english.body.title).toBe('Request validation failed');
    expect(english.body.errors).toEqual([{ field: 'title', message: 'is missing; this field is required' }]);
    const preferred = await capture({}, 'fr, de;q=0.5, en;q=0.4').expect(400);
    expect(preferred.headers['content-language']).toBe('de');
    for (const res of [german, english, preferred]) expect(JSON.stringify(res.body)).not.toMatch(RAW_VALIDATOR);
  });

  it('says a refusal of the document processing (in the worker pool) in German by default and in English on request', async () => {
    const locked = encryptPdf(await textPdf(1), { owner: 'o', user: 'u' });
    const send = (language?: string) => {
      const req = request(t.app).post('/v1/documents').set('Authorization', `Bearer ${t.tokens.capturer}`);
      if (language) req.set('Accept-Language', language);
      return attachCapture(req, { title: 'Gesperrt' }, [{ body: locked, contentType: 'application/pdf' }]);
    };
    const de = await send().expect(422);
    expect(de.body).toMatchObject({ code: 'encrypted_pdf', title: 'Passwortgeschütztes PDF' });
    expect(de.body.detail).toBe('Das PDF lässt sich nur mit Passwort öffnen; entfernen Sie den Passwortschutz und senden Sie es erneut.');
    const en = await send('en').expect(422);
    expect(en.body).toMatchObject({ code: 'encrypted_pdf', title: 'Password-protected PDF' });
    expect(en.body.detail).toBe('The PDF needs a password to open; remove the password protection and send it again.');
  });

  it('names the allowed keys of an unknown one, with a did-you-mean', async () => {
    const de = await capture({ title: 'Bescheid', aktenzeichen: 'AZ 1' }).expect(400);
    expect(de.body.errors).toEqual([{ field: 'aktenzeichen', message: expect.stringContaining("meinten Sie 'caseNumber'?") }]);
    expect(de.body.errors[0].message).toContain("'title', 'caseNumber', 'classification'");
    const en = await capture({ title: 'Bescheid', tilte: 'x' }, 'en').expect(400);
    expect(en.body.errors[0].message).toContain("did you mean 'title'?");
    expect(JSON.stringify([de.body, en.body])).not.toMatch(RAW_VALIDATOR);
  });

  it.each(['VS-NUR FÜR DEN DIENSTGEBRAUCH', 'vs-nfd', 'VS NfD'])('tells a classification written %s its accepted spelling', async (written) => {
    const de = await capture({ title: 'Bescheid', classification: written }).expect(400);
    expect(de.body.errors).toEqual([{ field: 'classification', message: "muss einer dieser Werte sein: 'VS-NfD', 'OFFEN'; schreiben Sie 'VS-NfD'" }]);
    const en = await capture({ title: 'Bescheid', classification: written }, 'en').expect(400);
    expect(en.body.errors[0].message).toBe("must be one of 'VS-NfD', 'OFFEN'; write 'VS-NfD'");
  });

  it('says what a development token without roles or units would be worth instead of issuing it', async () => {
    const noRoles = await request(t.app).post('/v1/dev/token').send({ sub: 'u1', units: ['BA-Nord'] }).expect(400);
    expect(noRoles.body.errors).toEqual([{ field: 'roles', message: expect.stringMatching(/ohne Rollen darf nichts.*"capture", "read"/) }]);
    const noUnits = await request(t.app).post('/v1/dev/token').set('Accept-Language', 'en').send({ sub: 'u1', roles: ['read'], units: [] }).expect(400);
    expect(noUnits.body.errors).toEqual([{ field: 'units', message: expect.stringMatching(/without a unit sees no documents/) }]);
    await request(t.app).post('/v1/dev/token').send({ sub: 'u1', roles: ['read'], units: ['BA-Nord'] }).expect(200);
  });

  it('speaks German for an unknown route, a bad query and a missing token too', async () => {
    const route = await request(t.app).get('/nirgendwo').expect(404);
    expect(route.body).toMatchObject({ title: 'Nicht gefunden', detail: expect.stringMatching(/Keine Route/) });
    const query = await request(t.app).get('/v1/documents?limt=5').set('Authorization', `Bearer ${t.tokens.capturer}`).expect(400);
    expect(query.body.errors[0].message).toContain("meinten Sie 'limit'?");
    const anonymous = await request(t.app).get('/v1/documents').expect(401);
    expect(anonymous.body.title).toBe('Anmeldung erforderlich');
    expect(anonymous.body.detail).toMatch(/Zugangstoken/);
  });

  /** Refusals from the body limit, the capture parts, the decryptor and tus, each sent once per language. */
  const refusals: [string, (app: Pick<TestApp, 'app'>, bearer: string) => Test, RegExp, RegExp][] = [
    [
      'a body over MAX_REQUEST_BYTES',
      (app, bearer) => attachCapture(request(app.app).post('/v1/documents').set('Authorization', `Bearer ${bearer}`), { title: 'x' }, [{ body: Buffer.alloc(4096, 1), contentType: 'application/pdf' }]),
      /^Die Anfrage hat \d+ Bytes; höchstens 2048 werden in einer Anfrage angenommen\. Nutzen Sie/,
      /^The request is \d+ bytes; at most 2048 are accepted in one request\. Use/,
    ],
    [
      'an upload named twice',
      (app, bearer) => {
        const id = ulid();
        return request(app.app).post('/v1/documents').set('Authorization', `Bearer ${bearer}`).field('metadata', '{"title":"x"}').field('upload', id).field('upload', id);
      },
      /^Upload '[0-9A-Z]{26}' ist mehrfach genannt; nennen Sie jeden Upload nur einmal/,
      /^Upload '[0-9A-Z]{26}' is named more than once; name each upload once/,
    ],
    [
      'a file part that is no JWE',
      (app, bearer) => attachCapture(request(app.app).post('/v1/documents').set('Authorization', `Bearer ${bearer}`), { title: 'x' }, [{ body: Buffer.from('ab.cd.ef'), contentType: 'application/jose' }]),
      /^Dateiteil 1: keine JWE-Compact-Serialisierung: erwartet sind 5 durch '\.' getrennte Abschnitte, gefunden 3$/,
      /^file part 1: not a JWE compact serialization: expected 5 segments separated by '\.', got 3$/,
    ],
    [
      'a file in a part not named file',
      (app, bearer) =>
        request(app.app).post('/v1/documents').set('Authorization', `Bearer ${bearer}`).field('metadata', '{"title":"x"}').attach('scan', Buffer.from('%PDF-1.7'), { filename: 'a.pdf', contentType: 'application/pdf' }),
      /^Unerwartetes Dateifeld 'scan': senden Sie Dateien in Teilen namens 'file'\.$/,
      /^Unexpected file field 'scan'; send files in parts named 'file'\.$/,
    ],
    [
      'a tus extension not offered',
      (app, bearer) =>
        request(app.app)
          .post('/v1/uploads')
          .set('Tus-Resumable', '1.0.0')
          .set('Authorization', `Bearer ${bearer}`)
          .set('Upload-Concat', 'partial')
          .set('Upload-Length', '100')
          .set('Upload-Metadata', `filetype ${Buffer.from('application/jose').toString('base64')}`),
      /^Dieser Server bietet nur die in Tus-Extension genannten tus-Erweiterungen .*senden Sie einen Upload je Datei/,
      /^This server offers the tus extensions listed in Tus-Extension only .*send one upload per file/,
    ],
  ];

  describe('refusals of the body, its parts and tus', () => {
    const small = withTestApp({ env: { MAX_REQUEST_BYTES: '2048' }, users: { capturer: { sub: 'cap', roles: ['capture'], units: ['BA-Nord'] } } });

    it.each(refusals)('says %s in German by default and in English on request', async (_name, send, german, english) => {
      const de = await send(small, small.tokens.capturer).ok(() => true);
      expect(de.status, JSON.stringify(de.body)).toBeGreaterThanOrEqual(400);
      expect(de.status).toBeLessThan(500);
      expect(de.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(de.headers['content-language']).toBe('de');
      expect(de.body.detail).toMatch(german);
      const en = await send(small, small.tokens.capturer).set('Accept-Language', 'en').ok(() => true);
      expect(en.status).toBe(de.status);
      expect(en.body.code).toBe(de.body.code);
      expect(en.headers['content-language']).toBe('en');
      expect(en.body.detail).toMatch(english);
    });
  });
});
