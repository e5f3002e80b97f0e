import { afterEach, describe, expect, it } from 'vitest';
import { METADATA_BACKENDS } from '../../testkit/database.ts';
import { captureOf, principal, serviceHarness, type ServiceHarness } from '../support/document-service.ts';

const capturer = principal(['capture']);
const archive = principal(['export']);

describe.each(METADATA_BACKENDS)('DocumentService.feed under racing commits on %s', (backend) => {
  let h: ServiceHarness;
  afterEach(() => h.close());

  /** Every id the feed serves from `after` on, until it says it is up to date. */
  async function drain(after: string | null, limit = 2): Promise<{ ids: string[]; next: string | null }> {
    const ids: string[] = [];
    let cursor = after;
    for (;;) {
      const page = await h.service.feed(archive, { limit, ...(cursor ? { after: cursor } : {}) });
      ids.push(...page.items.map((d) => d.id));
      cursor = page.next;
      if (!page.hasMore) return { ids, next: cursor };
    }
  }

  it('serves a commit that finishes after a later-started one exactly once, after it, without any settle delay', async () => {
    h = await serviceHarness({}, backend);
    // A is slow: its blobs are still being written while B commits.
    const gate = h.store.hold((key) => key.endsWith('/rendition'));
    const a = h.service.capture(capturer, captureOf('A'));
    await gate.reached;
    const b = (await h.service.capture(capturer, captureOf('B'))).record;
    const first = await drain(null);
    expect(first.ids).toEqual([b.id]);
    gate.release();
    const aId = (await a).record.id;
    expect((await drain(first.next)).ids).toEqual([aId]);
    expect((await drain(null, 1)).ids).toEqual([b.id, aId]);
  });

  it('loses no commit whose transaction was about to begin while a poll found nothing', async () => {
    h = await serviceHarness({}, backend);
    // The capture's commit (document, feed position and captured entry) is its first transaction.
    const gate = h.sql.holdNextTransaction();
    const done = h.service.capture(capturer, captureOf('late entry'));
    await gate.reached;
    const first = await drain(null);
    expect(first).toEqual({ ids: [], next: null });
    gate.release();
    const { record } = await done;
    expect((await drain(first.next, 1)).ids).toEqual([record.id]);
  });

  it('moves the cursor only over the caller’s own units, and keeps it when nothing new is visible', async () => {
    h = await serviceHarness({}, backend);
    const own = (await h.service.capture(capturer, captureOf('eigen'))).record;
    await h.service.capture(principal(['capture'], ['BA-Süd'], 'u2'), captureOf('fremd'));
    const page = await h.service.feed(archive, { limit: 10 });
    expect(page.items.map((d) => d.id)).toEqual([own.id]);
    expect(await h.service.feed(archive, { limit: 10, after: page.next! })).toEqual({ items: [], next: page.next, hasMore: false });
    const southern = principal(['export'], ['BA-Süd'], 'a2');
    const south = await h.service.feed(southern, { limit: 10 });
    // Each cursor names the caller's own last document, nothing that counts the other unit's.
    expect([page.next, south.next]).toEqual([own.id, south.items[0]!.id]);
    // Another unit's document is no cursor: refused like any unknown id.
    await expect(h.service.feed(southern, { limit: 10, after: own.id })).rejects.toMatchObject({ code: 'validation_failed' });
  });
});
