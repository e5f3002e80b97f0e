/**
 * The load test at CI size: 2 uploaders of encrypted 12 MP photos and a viewer for 10 s, with room
 * for one upload at a time so backpressure happens too. It decides on correctness only (answers,
 * nothing acknowledged lost, bounded memory); latency under load is measured by testkit/load-driver.ts
 * (the 8-uploader, 60 s run) and reported in docs/BENCHMARKS.md, since a shared machine's wall
 * clock cannot decide whether work lands.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { correctnessViolations, runLoad, s3ForLoad, type LoadResult } from '../../testkit/load-driver.ts';

describe('load: encrypted camera uploads and viewer pages on S3', () => {
  let s3: Awaited<ReturnType<typeof s3ForLoad>>;
  let result: LoadResult;

  beforeAll(async () => {
    s3 = await s3ForLoad();
  });
  afterAll(() => s3?.stop());

  it('captures, serves pages and refuses uploads beyond its bound with 503 under load', async () => {
    result = await runLoad({ uploaders: 2, viewers: 1, durationMs: 10_000, s3: s3.s3, env: { MAX_CONCURRENT_UPLOADS: '1' } });
    console.error(`[load] ${JSON.stringify(result)}`);
    expect(result.uploads.byStatus['201']).toBeGreaterThan(0);
    expect(result.uploads.byStatus['503']).toBeGreaterThan(0);
    expect(result.pages.byStatus['200']).toBeGreaterThan(0);
  }, 180_000);

  it('answers only 201/200 or 503 with Retry-After, loses no acknowledged document and stays within 1.5 GiB RSS', () => {
    expect(correctnessViolations(result)).toEqual([]);
  });
});
