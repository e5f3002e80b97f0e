import { afterEach, describe, expect, it } from 'vitest';
import { layout } from '../../src/storage/layout.ts';
import { captureOf, principal, serviceHarness, type ServiceHarness } from '../support/document-service.ts';

const capturer = principal(['capture']);
const reviewer = principal(['review', 'read'], ['BA-Nord'], 'rev');
const admin = principal(['admin', 'read'], ['BA-Nord'], 'adm');

describe('review and deletion racing on one document', () => {
  let h: ServiceHarness;
  afterEach(() => h.close());

  it('a review rewrite landing after a deletion is taken back, so the document stays deleted', async () => {
    h = await serviceHarness();
    const { record } = await h.service.capture(capturer, captureOf('race'));
    const held = h.store.hold((key) => key === layout.record(record.id));
    const review = h.service.review(reviewer, record.id, { decision: 'approved' });
    await held.reached;
    await h.service.delete(admin, record.id, 'Aussonderung');
    held.release();
    await expect(review).rejects.toMatchObject({ code: 'not_found' });
    await expect(h.service.get(admin, record.id)).rejects.toMatchObject({ code: 'not_found' });
    expect(await h.store.list({ prefix: layout.documentPrefix(record.id) })).toEqual([]);
    expect((await h.audit.documentTrail(record.id)).map((e) => e.type)).toEqual(['captured', 'reviewed', 'deleted']);
  });

  it('an acknowledgement landing after a deletion is taken back, so nothing of the document is left', async () => {
    h = await serviceHarness();
    const archive = principal(['export'], ['BA-Nord'], 'arc');
    const { record } = await h.service.capture(capturer, captureOf('ack race'));
    const held = h.store.hold((key) => key.startsWith(`${layout.documentPrefix(record.id)}acknowledgements/`));
    const acknowledgement = h.service.acknowledge(archive, record.id, 'E-Akte 1');
    await held.reached;
    await h.service.delete(admin, record.id, 'Aussonderung');
    held.release();
    await expect(acknowledgement).rejects.toMatchObject({ code: 'not_found' });
    expect(await h.store.list({ prefix: layout.documentPrefix(record.id) })).toEqual([]);
  });

  it('refuses deletion inside the retention period and allows it once the period is over', async () => {
    h = await serviceHarness({ retentionMs: 86_400_000 });
    const { record } = await h.service.capture(capturer, captureOf('kept'));
    await expect(h.service.delete(admin, record.id, 'zu früh')).rejects.toMatchObject({ code: 'retention_active' });
    h.clock.now += 86_400_000;
    await h.service.delete(admin, record.id, 'Frist abgelaufen');
    await expect(h.service.get(admin, record.id)).rejects.toMatchObject({ code: 'not_found' });
  });
});
