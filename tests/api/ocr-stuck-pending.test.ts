/**
 * Review finding (#13): a storage fault on the OCR job's LAST attempt must not leave the document
 * `pending` for ever (which would make `final=true`, the archive's handover, withhold every later
 * document of the unit). The give-up step marks it `failed` with a reason in the database; a give-up
 * step that fails itself is retried (tests/contract/job-queue.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { germanPage } from '../../testkit/fixtures/photos.ts';
import { attachCapture } from '../../testkit/capture-fixtures.ts';
import { GatedStore } from '../support/gated-store.ts';
import { openapiAgent } from '../support/openapi.ts';
import { withTestApp } from '../../testkit/with-test-app.ts';

const UNIT = 'BA-Stuck';
const slow = 300_000;
const page = germanPage(1240);

describe('an OCR job whose last attempt meets a storage fault', () => {
  let gated!: GatedStore;
  const t = withTestApp({
    env: { OCR: 'on', OCR_ATTEMPTS: '1' },
    options: { wrapStore: (backend) => (gated = new GatedStore(backend)) },
    agent: openapiAgent,
    users: {
      capturer: { sub: 'u-scan', roles: ['capture', 'read'], units: [UNIT] },
      reader: { sub: 'u-arch', roles: ['export', 'read'], units: [UNIT] },
    },
  });

  const capture = async (title: string): Promise<string> =>
    (await attachCapture(t.api.post('/v1/documents').set('Authorization', `Bearer ${t.tokens.capturer}`), { title, source: 'scanner' }, [{ body: page, contentType: 'image/png' }]).expect(201)).body.id;

  const textLayer = async (id: string) => (await t.api.get(`/v1/documents/${id}`).set('Authorization', `Bearer ${t.tokens.reader}`).expect(200)).body.textLayer;

  async function jobState(id: string): Promise<string | undefined> {
    const { rows } = await (t.deps.metadata as any).db.query(`SELECT state FROM jobs WHERE document_id = $1 AND kind <> 'document.purge'`, [id]);
    return rows[0]?.state;
  }

  it('ends failed (not pending for ever) and does not block the handover of later documents', async () => {
    // The outage: the text rendition's write fails on the last attempt.
    const rendition = gated.failNext((key) => key.endsWith('/rendition-text'));
    const first = await capture('Eingang Ausfall');
    await rendition.hit;
    // Wait for the job's outcome (an event in the database, not a clock).
    while ((await jobState(first)) === 'running' || (await jobState(first)) === 'queued') await sleep(100);
    expect(await jobState(first)).toBe('failed');

    // The store is healthy again. A later document gets its text layer.
    const second = await capture('Eingang danach');
    while ((await textLayer(second)).status === 'pending') await sleep(100);
    expect((await textLayer(second)).status).toBe('ready');

    // The bar: `failed` with a reason, so the document is final and the feed moves on.
    const handedOver = await t.api.get('/v1/documents').query({ final: 'true' }).set('Authorization', `Bearer ${t.tokens.reader}`).expect(200);
    expect(handedOver.body.items.map((d: { id: string }) => d.id)).toContain(second);
    expect((await textLayer(first)).status).not.toBe('pending');
  }, slow);
});
