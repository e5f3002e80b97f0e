import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openapiAgent, type OpenApiAgent } from '../support/openapi.ts';
import { startTestApp, type TestApp } from '../../testkit/test-app.ts';

const UNIT = 'BA-Nord';

describe('security: authorization before work', () => {
  let t: TestApp;
  let api: OpenApiAgent;
  let reader: string;

  beforeAll(async () => {
    t = await startTestApp();
    api = openapiAgent(t.app);
    reader = await t.token({ sub: 'u-read', roles: ['read'], units: [UNIT] });
  });
  afterAll(() => t.close());

  it('refuses a capture by a caller without role capture before reading or decrypting its body', async () => {
    const res = await api
      .post('/v1/documents')
      .set('Authorization', `Bearer ${reader}`)
      .field('metadata', JSON.stringify({ title: 'x' }))
      .attach('file', Buffer.from('not.a.jwe.at.all'), { filename: 'a', contentType: 'application/jose' })
      .expect(403);
    expect(res.body.code).toBe('forbidden');
  });
});
