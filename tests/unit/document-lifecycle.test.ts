import { afterEach, describe, expect, it } from 'vitest';
import { PURGE_JOB } from '../../src/documents/service.ts';
import { layout } from '../../src/storage/layout.ts';
import { METADATA_BACKENDS } from '../../testkit/database.ts';
import { captureOf, principal, serviceHarness, type ServiceHarness } from '../support/document-service.ts';

const capturer = principal(['capture']);
const reviewer = principal(['review', 'read'], ['BA-Nord'], 'rev');
const admin = principal(['admin', 'read'], ['BA-Nord'], 'adm');

describe.each(METADATA_BACKENDS)('review, acknowledgement and deletion racing on one document on %s', (backend) => {
  let h: ServiceHarness;
  afterEach(() => h.close());

  it('a review decided after a deletion committed answers not_found, and the document stays deleted', async () => {
    h = await serviceHarness({}, backend);
    const { record } = await h.service.capture(capturer, captureOf('race'));
    // The review's transaction is held, so the deletion commits between the review's read and its update.
    const held = h.sql.holdNextTransaction();
    const review = h.service.review(reviewer, record.id, { decision: 'approved' });
    await held.reached;
    await h.twin().delete(admin, record.id, 'Aussonderung');
    held.release();
    await expect(review).rejects.toMatchObject({ code: 'not_found' });
    await expect(h.service.get(admin, record.id)).rejects.toMatchObject({ code: 'not_found' });
    expect(await h.store.list({ prefix: layout.documentPrefix(record.id) })).toEqual([]);
    // The trail records the deletion, and no review that never happened.
    expect((await h.audit.documentTrail(record.id)).map((e) => e.type)).toEqual(['captured', 'deleted']);
  });

  it('of two racing review decisions exactly one is recorded; the other answers conflict', async () => {
    h = await serviceHarness({}, backend);
    const { record } = await h.service.capture(capturer, captureOf('zwei'));
    const results = await Promise.allSettled([
      h.service.review(reviewer, record.id, { decision: 'approved' }),
      h.service.review(principal(['review'], ['BA-Nord'], 'rev2'), record.id, { decision: 'rejected' }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'conflict' } });
    const decided = results.find((r) => r.status === 'fulfilled')!.value.transferNote.review.status;
    expect((await h.service.get(admin, record.id)).transferNote.review.status).toBe(decided);
  });

  it('an acknowledgement after a deletion answers not_found and leaves nothing', async () => {
    h = await serviceHarness({}, backend);
    const archive = principal(['export'], ['BA-Nord'], 'arc');
    const { record } = await h.service.capture(capturer, captureOf('ack race'));
    await h.service.acknowledge(archive, record.id, 'E-Akte 1');
    await h.service.delete(admin, record.id, 'Aussonderung');
    await expect(h.service.acknowledge(archive, record.id, 'E-Akte 2')).rejects.toMatchObject({ code: 'not_found' });
    expect(await h.store.list({ prefix: layout.documentPrefix(record.id) })).toEqual([]);
  });

  it('commits no document whose captured entry could not be written: the capture fails and leaves no blobs', async () => {
    h = await serviceHarness({}, backend);
    const fault = h.sql.failNext((sql) => sql.includes('INSERT INTO audit_events'));
    await expect(h.service.capture(capturer, captureOf('Audit fällt aus'))).rejects.toThrow(/injected fault/);
    await fault.hit;
    expect((await h.service.feed(principal(['export']), { limit: 10 })).items).toEqual([]);
    expect(await h.store.list({ prefix: layout.documentsPrefix })).toEqual([]);
    const { record } = await h.service.capture(capturer, captureOf('normal'));
    expect((await h.audit.documentTrail(record.id)).map((e) => [e.type, e.actor.sub])).toEqual([['captured', 'u1']]);
  });

  it('deletes as a job: a blob removal that fails in the request is retried by a worker until the blobs are gone', async () => {
    h = await serviceHarness({}, backend);
    const { record } = await h.service.capture(capturer, captureOf('später weg'));
    h.store.failNext((key) => key === layout.rendition(record.id), 'delete');
    await h.service.delete(admin, record.id, 'Aussonderung');
    // The document is gone at once; a blob is left for the job.
    await expect(h.service.get(admin, record.id)).rejects.toMatchObject({ code: 'not_found' });
    expect((await h.store.list({ prefix: layout.documentPrefix(record.id) })).map((o) => o.key)).toContain(layout.rendition(record.id));
    expect(await h.metadata.jobs.counts()).toEqual([{ kind: PURGE_JOB, state: 'queued', count: 1 }]);
    // Not before its backoff.
    expect(await h.jobs.tick()).toBe(0);
    h.clock.now += 1_000;
    expect(await h.jobs.tick()).toBe(1);
    await h.jobs.stop();
    expect(await h.store.list({ prefix: layout.documentPrefix(record.id) })).toEqual([]);
    expect(await h.metadata.jobs.counts()).toEqual([{ kind: PURGE_JOB, state: 'done', count: 1 }]);
  });

  it('refuses deletion inside the retention period and allows it once the period is over', async () => {
    h = await serviceHarness({ retentionMs: 86_400_000 }, backend);
    const { record } = await h.service.capture(capturer, captureOf('kept'));
    await expect(h.service.delete(admin, record.id, 'zu früh')).rejects.toMatchObject({ code: 'retention_active' });
    h.clock.now += 86_400_000;
    await h.service.delete(admin, record.id, 'Frist abgelaufen');
    await expect(h.service.get(admin, record.id)).rejects.toMatchObject({ code: 'not_found' });
  });
});
