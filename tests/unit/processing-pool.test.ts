import { afterAll, describe, expect, it } from 'vitest';
import { createProcessingPool } from '../../src/processing/pool.ts';
import { testOptions } from '../../testkit/fixtures/options.ts';
import { textPdf } from '../../testkit/fixtures/pdfs.ts';

describe('processing pool (worker threads loading TypeScript through tsx)', () => {
  const pool = createProcessingPool({ threads: 1, maxQueue: 1 });
  afterAll(() => pool.close());

  it('processes a document and renders a page in a worker', async () => {
    const result = await pool.process([{ bytes: await textPdf(2) }], testOptions());
    expect(result.pageCount).toBe(2);
    const image = await pool.renderPage(result.rendition, 1, 300);
    expect(image.width).toBe(300);
    expect(image.pixels.length).toBe(300 * image.height * 4);
  });

  it('carries AppErrors out of the worker', async () => {
    await expect(pool.process([{ bytes: new Uint8Array(100) }], testOptions())).rejects.toMatchObject({ code: 'unsupported_media_type' });
  });

  it('stops an overdue task, answers busy when the queue is full, and keeps working after', async () => {
    const slow = await textPdf(300);
    const budget = { maxPages: 1000, timeBudgetMs: 1500 };
    const overdue = pool.process([{ bytes: slow }], testOptions({ sanitize: 'rasterize', limits: budget }));
    const small = await textPdf(1);
    const othersPending = Promise.allSettled([1, 2, 3].map(() => pool.process([{ bytes: small }], testOptions())));
    await expect(overdue).rejects.toMatchObject({ code: 'processing_timeout' });
    const others = await othersPending;
    const refused = others.filter((r) => r.status === 'rejected');
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect(r.reason).toMatchObject({ code: 'busy' });
    await expect(pool.process([{ bytes: small }], testOptions())).resolves.toMatchObject({ pageCount: 1 });
  });
});
