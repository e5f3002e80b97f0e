/** Metadata text that hides or fakes what it says is refused with a problem naming the field; what is kept is NFC. */
import { beforeAll, describe, expect, it } from 'vitest';
import { attachCapture, pdfWithText } from '../../testkit/capture-fixtures.ts';
import { openapiAgent } from '../support/openapi.ts';
import { withTestApp } from '../../testkit/with-test-app.ts';

describe('characters in capture metadata', () => {
  const t = withTestApp({ agent: openapiAgent, users: { capturer: { sub: 'cap', roles: ['capture'], units: ['BA-Nord'] } } });
  let pdf: Buffer;

  beforeAll(async () => {
    pdf = await pdfWithText('Zeichen');
  });

  /** The metadata as JSON text, so escapes such as a lone surrogate reach the server unchanged. */
  const capture = (metadataJson: string) =>
    attachCapture(t.api.post('/v1/documents').set('Authorization', `Bearer ${t.tokens.capturer}`).set('Accept-Language', 'en'), metadataJson, [
      { body: pdf, contentType: 'application/pdf' },
    ]);

  it.each([
    ['a C1 control', 'title', '{"title":"Bescheid\\u0085Ende"}', /control characters/],
    ['a right-to-left override', 'title', '{"title":"Rechnung\\u202Efdp.exe"}', /bidirectional/],
    ['a bidi isolate', 'caseNumber', '{"title":"Bescheid","caseNumber":"AZ \\u2067 12"}', /bidirectional/],
    ['a lone surrogate', 'title', '{"title":"Bescheid \\ud800"}', /lone surrogate/],
    ['only invisible characters', 'title', '{"title":"\\u200b\\u2060\\u3164\\u2800"}', /no visible character/],
    ['only combining marks and a zero-width joiner', 'issuingOffice', '{"title":"Bescheid","issuingOffice":"\\u0301\\u200d"}', /no visible character/],
    ['a C1 control in the device', 'device.app', '{"title":"Bescheid","device":{"app":"Scan\\u009b","version":"1"}}', /control characters/],
  ])('refuses %s, naming the field', async (_what, field, json, message) => {
    const res = await capture(json).expect(400);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors).toEqual([{ field, message: expect.stringMatching(message) }]);
    expect(res.body.detail).toContain(field);
  });

  it('stores titles NFC-normalized, so the same words are the same text', async () => {
    const res = await capture('{"title":"A\\u0308nderungsbescheid","caseNumber":"AZ 1"}').expect(201);
    expect(res.body.title).toBe('\u00c4nderungsbescheid');
  });
});
