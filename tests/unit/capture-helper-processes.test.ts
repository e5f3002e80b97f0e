/**
 * Review finding (#13): a capture (`enhance: document`) decodes a JPEG's grey with djpeg. Spawned from
 * the worker thread, a djpeg still running when its task is cut off (budget, pool closed) outlived the
 * terminated thread and was never reaped (a zombie of the service process). The pool runs it from the
 * main thread now (helpers.ts) and kills it with the task.
 * djpeg is held by an event, not by timing: the `djpeg` first on PATH waits on a FIFO, then execs the
 * real one. Opening the gate after the cut lets a surviving djpeg run and exit, so it would show as a zombie.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { createProcessingPool } from '../../src/processing/pool.ts';
import { testOptions } from '../../testkit/fixtures/options.ts';
import { germanPage } from '../../testkit/fixtures/photos.ts';
import { children, endStates } from '../support/child-processes.ts';

/** A `djpeg` in a fresh directory that runs the real one once a line arrives on `gate` (a FIFO). */
function gatedDjpeg(): { dir: string; open(): void } {
  const real = execFileSync('sh', ['-c', 'command -v djpeg']).toString().trim();
  const dir = mkdtempSync(join(tmpdir(), 'gated-djpeg-'));
  const gate = join(dir, 'gate');
  execFileSync('mkfifo', [gate]);
  writeFileSync(join(dir, 'djpeg'), `#!/bin/sh\nread _ < '${gate}'\nexec '${real}' "$@"\n`, { mode: 0o755 });
  return {
    dir,
    open() {
      // Read-write: never blocks, also when no reader is left.
      const fd = openSync(gate, 'r+');
      writeSync(fd, 'go\n');
      closeSync(fd);
    },
  };
}

describe('djpeg of a cut-off capture task', () => {
  it('is killed and reaped, not left running or as a zombie', async () => {
    const photo = await sharp(germanPage(1240)).jpeg().toBuffer();
    const gated = gatedDjpeg();
    const path = process.env.PATH;
    process.env.PATH = `${gated.dir}:${path}`;
    try {
      const pool = createProcessingPool({ threads: 1, maxQueue: 1 });
      const run = pool.process([{ bytes: photo }], testOptions({ enhance: 'document' })).catch((err: unknown) => err);
      let running: number[] = [];
      while ((running = children('djpeg')).length === 0) await sleep(50);
      await pool.close();
      expect(await run).toBeInstanceOf(Error);
      gated.open();
      expect(await endStates(running)).toEqual(running.map(() => undefined));
    } finally {
      process.env.PATH = path;
      rmSync(gated.dir, { recursive: true, force: true });
    }
  });
});
