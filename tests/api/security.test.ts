import { describe, expect, it } from 'vitest';
import { openapiAgent } from '../support/openapi.ts';
import { withTestApp } from '../../testkit/with-test-app.ts';

const UNIT = 'BA-Nord';

describe('security: authorization before work', () => {
  const t = withTestApp({ agent: openapiAgent, users: { reader: { sub: 'u-read', roles: ['read'], units: [UNIT] } } });

  it('refuses a capture by a caller without role capture before reading or decrypting its body', async () => {
    const res = await t.api
      .post('/v1/documents')
      .set('Authorization', `Bearer ${t.tokens.reader}`)
      .field('metadata', JSON.stringify({ title: 'x' }))
      .attach('file', Buffer.from('not.a.jwe.at.all'), { filename: 'a', contentType: 'application/jose' })
      .expect(403);
    expect(res.body.code).toBe('forbidden');
  });
});
