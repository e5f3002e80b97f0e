/**
 * Problems speak to the person who made the mistake: German unless the caller prefers English
 * (Accept-Language), in our own words, saying what was wrong and what to send instead.
 */
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachCapture, pdfWithText } from '../support/capture-fixtures.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

/** What a validator library would say by itself; none of it may reach a person. */
const RAW_VALIDATOR = /Invalid input|expected string|received undefined|Unrecognized key|Too small|Invalid option/;

describe('problem details in the caller language', () => {
  let t: TestApp;
  let token: string;
  let pdf: Buffer;

  beforeAll(async () => {
    t = await startTestApp();
    token = await t.token({ sub: 'cap', roles: ['capture'], units: ['BA-Nord'] });
    pdf = await pdfWithText('Sprache');
  });
  afterAll(() => t?.close());

  const capture = (metadata: object, language?: string) => {
    const req = request(t.app).post('/v1/documents').set('Authorization', `Bearer ${token}`);
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
    const query = await request(t.app).get('/v1/documents?limt=5').set('Authorization', `Bearer ${token}`).expect(400);
    expect(query.body.errors[0].message).toContain("meinten Sie 'limit'?");
    const anonymous = await request(t.app).get('/v1/documents').expect(401);
    expect(anonymous.body.title).toBe('Anmeldung erforderlich');
    expect(anonymous.body.detail).toMatch(/Zugangstoken/);
  });
});
