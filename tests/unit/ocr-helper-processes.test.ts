/**
 * Review finding (#13): a text-layer task that is cut off (its time budget ran out, or the pool
 * closed) terminates its worker thread, but the tesseract/pdftoppm processes that thread spawned are
 * neither killed nor reaped: they run on without their 60 s bound (its timer died with the thread) and
 * then stay as zombies of the service process. The budget path shows the same thing (see the review
 * report: OCR budget 5 s on a 10-page rendition leaves two tesseract processes running, then <defunct>);
 * this test uses pool.close(), which also terminates the worker, because it can be timed by events.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { processDocument } from '../../src/processing/index.ts';
import { createProcessingPool } from '../../src/processing/pool.ts';
import { testOptions } from '../../testkit/fixtures/options.ts';
import { germanPage } from '../../testkit/fixtures/photos.ts';
import { children, endStates } from '../support/child-processes.ts';

describe('OCR helper processes of a cut-off text-layer task', () => {
  it('are killed and reaped, not left running or as zombies', async () => {
    const rendition = (await processDocument(Array.from({ length: 6 }, () => ({ bytes: germanPage(2480) })), testOptions())).rendition;
    const pool = createProcessingPool({ threads: 1, maxQueue: 1 });
    const run = pool.addTextLayer(rendition, 600_000).catch((err: unknown) => err);
    let running: number[] = [];
    while ((running = children('tesseract')).length === 0) await sleep(50);
    await pool.close();
    await run;
    expect(await endStates(running)).toEqual(running.map(() => undefined));
  });
});
