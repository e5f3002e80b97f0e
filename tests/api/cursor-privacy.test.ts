/**
 * Paging the archive feed and the audit feed must not reveal other units' activity: neither the
 * items, nor `hasMore`, nor the time carried by a `next` cursor (a ULID) may depend on documents the
 * caller cannot see. Captures of two units interleave; a caller of one unit pages with limit=1.
 */
import { decodeTime } from 'ulid';
import { beforeAll, describe, expect, it } from 'vitest';
import { attachCapture, pdfWithText } from '../../testkit/capture-fixtures.ts';
import { openapiAgent } from '../support/openapi.ts';
import { withTestApp } from '../../testkit/with-test-app.ts';

/** The milliseconds a request was in flight, inclusive. */
interface Window {
  start: number;
  end: number;
}

/** Waits (on the event loop, no fixed sleep) until the clock passed `ms` by two, so windows never share a millisecond. */
async function clockPast(ms: number): Promise<void> {
  while (Date.now() <= ms + 1) await new Promise((r) => setImmediate(r));
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; window: Window }> {
  const start = Date.now();
  const value = await work();
  const window = { start, end: Date.now() };
  await clockPast(window.end);
  return { value, window };
}

const inside = (ms: number, w: Window) => ms >= w.start - 1 && ms <= w.end;

describe('feed and audit cursors of one unit', () => {
  const t = withTestApp({
    agent: openapiAgent,
    users: {
      A: { sub: 'cap-a', roles: ['capture'], units: ['BA-A'] },
      B: { sub: 'cap-b', roles: ['capture'], units: ['BA-B'] },
    },
  });
  const own: Array<{ id: string; window: Window }> = [];
  const foreign: Window[] = [];

  beforeAll(async () => {
    const pdf = await pdfWithText('cursor');
    // Unit B's captures sit between and after unit A's.
    for (const unit of ['A', 'B', 'B', 'A', 'B'] as const) {
      const { value, window } = await timed(() =>
        attachCapture(t.api.post('/v1/documents').set('Authorization', `Bearer ${t.tokens[unit]}`), { title: `Doc ${unit}` }, [
          { body: pdf, contentType: 'application/pdf' },
        ]).expect(201),
      );
      if (unit === 'A') own.push({ id: value.body.id as string, window });
      else foreign.push(window);
    }
  });

  /** Pages with limit=1 from the start to the end; every cursor's time is explained by what the caller may know. */
  async function pageThrough(path: string, token: string, order = '') {
    const pages: Array<{ ids: string[]; hasMore: boolean }> = [];
    let after: string | undefined;
    for (let i = 0; i < 10; i++) {
      const { value, window } = await timed(() =>
        t.api.get(`${path}?limit=1${order}${after ? `&after=${after}` : ''}`).set('Authorization', `Bearer ${token}`).expect(200),
      );
      const { items, next, hasMore } = value.body as { items: Array<{ id: string; documentId?: string }>; next: string; hasMore: boolean };
      pages.push({ ids: items.map((e) => e.documentId ?? e.id), hasMore });
      const at = decodeTime(next);
      expect(foreign.some((w) => inside(at, w)), `cursor ${next} carries the time of another unit's capture`).toBe(false);
      expect(own.some((d) => inside(at, d.window)) || inside(at, window), `cursor ${next} is neither own activity nor now`).toBe(true);
      after = next;
      if (!hasMore) break;
    }
    return pages;
  }

  it('the archive feed pages through own documents only, full pages, and hasMore only for own documents', async () => {
    const archive = await t.token({ sub: 'arch-a', roles: ['export'], units: ['BA-A'] });
    expect(await pageThrough('/v1/documents', archive)).toEqual([
      { ids: [own[0]!.id], hasMore: true },
      { ids: [own[1]!.id], hasMore: false },
    ]);
  });

  it('newest first pages backwards through own documents only, and refuses to combine with final=true', async () => {
    const archive = await t.token({ sub: 'arch-a', roles: ['export'], units: ['BA-A'] });
    expect(await pageThrough('/v1/documents', archive, '&order=newest')).toEqual([
      { ids: [own[1]!.id], hasMore: true },
      { ids: [own[0]!.id], hasMore: false },
    ]);
    const refused = await t.api.get('/v1/documents?order=newest&final=true').set('Authorization', `Bearer ${archive}`).expect(400);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.body).toMatchObject({ code: 'validation_failed', detail: expect.stringContaining("'order=newest'") });
    expect(refused.headers['content-language']).toBe('de');
    await t.api.get('/v1/documents?order=sideways').set('Authorization', `Bearer ${archive}`).expect(400);
  });

  it('the audit feed does the same with the entries of own units', async () => {
    const auditor = await t.token({ sub: 'aud-a', roles: ['audit'], units: ['BA-A'] });
    expect(await pageThrough('/v1/audit', auditor)).toEqual([
      { ids: [own[0]!.id], hasMore: true },
      { ids: [own[1]!.id], hasMore: false },
    ]);
  });

  it('refuses another unit’s audit entry as a cursor like any unknown one', async () => {
    const southern = await t.token({ sub: 'aud-b', roles: ['audit'], units: ['BA-B'] });
    const theirs = (await t.api.get('/v1/audit?limit=1').set('Authorization', `Bearer ${southern}`).expect(200)).body.next as string;
    const auditor = await t.token({ sub: 'aud-a', roles: ['audit'], units: ['BA-A'] });
    const refused = await t.api.get(`/v1/audit?after=${theirs}`).set('Authorization', `Bearer ${auditor}`).expect(400);
    expect(refused.body).toMatchObject({ code: 'validation_failed' });
    expect(refused.headers['content-type']).toMatch(/application\/problem\+json/);
  });
});
