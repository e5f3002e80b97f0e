/**
 * SIGKILL of the instance running a capture's OCR job: once the job's lease ran out, another instance
 * takes it over and adds the text layer (two service processes on one bucket and one PostgreSQL).
 */
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { germanPage } from '../../testkit/fixtures/photos.ts';
import { clerk, devToken, ingestKey, postCapture } from '../../testkit/service-client.ts';
import { keysEnv, s3Env, startService, type ServiceProcess } from '../../testkit/service-process.ts';
import { uniqueBucket } from '../../testkit/s3.ts';
import { freshDatabaseUrl } from '../../testkit/database.ts';
import { encryptFor } from '../../client/encrypt.ts';

/** A hang guard for a loaded CI machine; never a speed check. */
const slow = 300_000;

interface JobRow {
  state: string;
  holder: string | null;
  attempts: number;
}

describe(`an instance killed during OCR (${inject('s3').label})`, () => {
  let env: Record<string, string>;
  let db: pg.Client;
  const started: ServiceProcess[] = [];

  beforeAll(async () => {
    env = { ...s3Env(inject('s3'), uniqueBucket('ocr')), ...(await keysEnv()), DATABASE_URL: await freshDatabaseUrl(), OCR: 'on', JOB_LEASE_MS: '1500' };
    db = new pg.Client({ connectionString: env.DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await Promise.all(started.map((s) => s.stop()));
    await db?.end();
  });

  const start = async () => {
    const instance = await startService(env);
    started.push(instance);
    return instance;
  };
  const job = async (documentId: string) =>
    (await db.query<JobRow>(`SELECT state, holder, attempts FROM jobs WHERE kind = 'document.ocr' AND document_id = $1`, [documentId])).rows[0];
  /** Polls until `check` holds for the job's row (its state decides, no clock). */
  const until = async (documentId: string, check: (row: JobRow | undefined) => boolean) => {
    for (;;) {
      const row = await job(documentId);
      if (check(row)) return row!;
      await sleep(20);
    }
  };

  it('leaves the job to another instance, which adds the text layer', async () => {
    const doomed = await start();
    const token = await devToken(doomed.url, clerk('ocr-clerk'));
    // Four scanned pages: OCR runs for seconds, so the kill lands inside it.
    const form = new FormData();
    form.append('metadata', await encryptFor(await ingestKey(doomed.url), Buffer.from(JSON.stringify({ title: 'Posteingang', source: 'scanner' })), 'application/json'));
    const page = germanPage(1240);
    for (let i = 0; i < 4; i++) form.append('file', new Blob([await encryptFor(await ingestKey(doomed.url), page, 'image/png')], { type: 'application/jose' }), `part-${i + 1}`);
    const res = await postCapture(doomed.url, token, form);
    expect(res.status).toBe(201);
    const { id, textLayer } = (await res.json()) as { id: string; textLayer: { status: string } };
    expect(textLayer.status).toBe('pending');

    const running = await until(id, (row) => row?.state !== 'queued' && row !== undefined);
    expect(running).toMatchObject({ state: 'running', attempts: 1 });
    await doomed.kill();
    expect(await job(id)).toMatchObject({ state: 'running', holder: running.holder, attempts: 1 });

    const survivor = await start();
    const survivorToken = await devToken(survivor.url, clerk('ocr-clerk'));
    const done = await until(id, (row) => row?.state === 'done' || row?.state === 'failed');
    expect(done).toMatchObject({ state: 'done', attempts: 2 });
    expect(done.holder).not.toBe(running.holder);

    const headers = { Authorization: `Bearer ${survivorToken}` };
    const record = (await (await fetch(`${survivor.url}/v1/documents/${id}`, { headers })).json()) as { textLayer: { status: string; words: number } };
    expect(record.textLayer.status).toBe('ready');
    const pdf = Buffer.from(await (await fetch(`${survivor.url}/v1/documents/${id}/content`, { headers })).arrayBuffer());
    const pages = execFileSync('pdftotext', ['-', '-'], { input: pdf }).toString().split('\f');
    for (const text of pages.slice(0, 4)) expect(text).toContain('Ordnungsamt');
  }, slow);
});
