import { afterEach, describe, expect, it } from 'vitest';
import { captureOf, principal, serviceHarness, type ServiceHarness } from '../support/document-service.ts';

const capturer = principal(['capture']);
const archive = principal(['export']);

describe('DocumentService.feed under racing commits', () => {
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

  /** Starts capture A and stops it just before its record is written (its feed entry already exists). */
  async function captureHeldBeforeRecord(title: string) {
    const gate = h.store.hold((key) => key.endsWith('/record'));
    const done = h.service.capture(capturer, captureOf(title));
    await gate.reached;
    return { done, release: gate.release };
  }

  it('holds back an entry whose record is still being written, then serves it once, in commit order', async () => {
    h = await serviceHarness({ feedSettleMs: 500 });
    const a = await captureHeldBeforeRecord('A');
    h.clock.now += 10;
    const b = (await h.service.capture(capturer, captureOf('B'))).record;
    h.clock.now += 100;
    const early = await drain(null);
    expect(early.ids).toEqual([]);
    a.release();
    const aId = (await a.done).record.id;
    h.clock.now += 500;
    expect((await drain(early.next)).ids).toEqual([aId, b.id]);
  });

  it('re-announces a commit slower than the settle window, so the poll that passed it does not lose it', async () => {
    h = await serviceHarness({ feedSettleMs: 500 });
    const a = await captureHeldBeforeRecord('A');
    h.clock.now += 10;
    const b = (await h.service.capture(capturer, captureOf('B'))).record;
    h.clock.now += 600;
    const first = await drain(null);
    expect(first.ids).toEqual([b.id]);
    a.release();
    const aId = (await a.done).record.id;
    h.clock.now += 600;
    expect((await drain(first.next)).ids).toEqual([aId]);
  });

  it('re-announces a commit whose feed entry landed after the settle window, so a poll that moved its cursor past it by time does not lose it', async () => {
    h = await serviceHarness({ feedSettleMs: 500 });
    const gate = h.store.hold((key) => key.startsWith('feed/'));
    const done = h.service.capture(capturer, captureOf('late entry'));
    await gate.reached;
    h.clock.now += 600;
    // Nothing to see: the cursor moves to the horizon, past the entry still being written.
    const first = await drain(null);
    expect(first.ids).toEqual([]);
    gate.release();
    const { record } = await done;
    h.clock.now += 600;
    expect((await drain(first.next, 1)).ids).toEqual([record.id]);
  });

  it('announces a slow commit once when no poll passed it meanwhile', async () => {
    h = await serviceHarness({ feedSettleMs: 500 });
    const a = await captureHeldBeforeRecord('A');
    h.clock.now += 2_000;
    a.release();
    const { record } = await a.done;
    h.clock.now += 600;
    expect((await drain(null, 1)).ids).toEqual([record.id]);
  });

  it('serves a document whose blobs took longer than the settle window exactly once', async () => {
    h = await serviceHarness({ feedSettleMs: 500 });
    const gate = h.store.hold((key) => key.endsWith('/rendition'));
    const done = h.service.capture(capturer, captureOf('slow upload'));
    await gate.reached;
    h.clock.now += 3_000;
    gate.release();
    const { record } = await done;
    h.clock.now += 600;
    // One entry per page, so a second entry of the same document could not be folded into one page.
    expect((await drain(null, 1)).ids).toEqual([record.id]);
  });
});
