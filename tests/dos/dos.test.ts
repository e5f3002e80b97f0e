/**
 * Denial-of-service suite (issue 11, items 1–6) against the service as its own process. For each
 * attack: every request is answered (4xx or 503, never a 5xx otherwise, never a hang: the guard in
 * attacks.ts turns one into a failure), RSS grows by less than 300 MB, /healthz answers throughout,
 * and during the slow-body attack other users' captures still succeed. Latency under attack is
 * measured by bench/dos.ts, never asserted here.
 */
import { once } from 'node:events';
import net from 'node:net';
import type { JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptFor } from '../../client/encrypt.ts';
import { jpegWithMarker, newMarker } from '../../testkit/capture-fixtures.ts';
import { clerk, devToken, encryptedCapture, ingestKey, postCapture } from '../../testkit/service-client.ts';
import { freshDatabaseUrl } from '../../testkit/database.ts';
import { startService, type ServiceProcess } from '../../testkit/service-process.ts';
import { tusMetadata } from '../support/tus.ts';
import { admittedNow, captureHead, DOS_ENV, endlessHeaders, gauge, HANG_GUARD_MS, metadataBomb, sendMetadataBomb, sendPastRefusal, slowCapture, trickle, underAttack, untilAdmitted, type Answer, type Trickle } from '../../testkit/dos-attacks.ts';

const MiB = 2 ** 20;
const RSS_GROWTH_BOUND = 300 * 1000 * 1000;
const TUS = { 'tus-resumable': '1.0.0' };

/** Every answer of an attack is a refusal the protocol allows: a 4xx, a 503, or a closed connection after one. */
function expectOnlyRefusals(answers: Answer[], allowed: Array<number | 'closed'>): void {
  for (const answer of answers) expect(allowed, JSON.stringify(answer)).toContain(answer.status);
}

function expectHealthy(run: { health: { latenciesMs: number[]; failures: string[] }; rssGrowthBytes: number }): void {
  expect(run.health.failures).toEqual([]);
  expect(run.health.latenciesMs.length).toBeGreaterThan(0);
  expect(run.rssGrowthBytes).toBeLessThan(RSS_GROWTH_BOUND);
}

async function untilIdle(url: string): Promise<void> {
  while ((await admittedNow(url)) > 0) await new Promise((resolve) => setTimeout(resolve, 50));
}

describe('denial of service against a service process', () => {
  let service: ServiceProcess;
  let key: JWK;
  const tokens = new Map<string, string>();
  const token = (sub: string) => tokens.get(sub)!;

  beforeAll(async () => {
    // On a PostgreSQL server: the bound is on what the attacks cost; the embedded PGlite's WASM heap grows with its first queries whatever the load (with it, growth passed the bound here).
    service = await startService({ ...DOS_ENV, DATABASE_URL: await freshDatabaseUrl() });
    key = await ingestKey(service.url);
    for (const sub of ['attacker', 'victim', 'holder-1', 'holder-2', 'late']) tokens.set(sub, await devToken(service.url, clerk(sub)));
  });
  afterAll(() => service?.stop());

  const victimCapture = async () => postCapture(service.url, token('victim'), await encryptedCapture(key, 'Während des Angriffs', [await jpegWithMarker(newMarker())]));

  async function finishedUpload(sub: string, bytes: Buffer): Promise<string> {
    const created = await fetch(`${service.url}/v1/uploads`, {
      method: 'POST',
      headers: { ...TUS, authorization: `Bearer ${token(sub)}`, 'upload-length': String(bytes.length), 'upload-metadata': tusMetadata({ filetype: 'application/jose' }) },
    });
    expect(created.status).toBe(201);
    const id = created.headers.get('location')!.split('/').pop()!;
    const patched = await fetch(`${service.url}/v1/uploads/${id}`, {
      method: 'PATCH',
      headers: { ...TUS, authorization: `Bearer ${token(sub)}`, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
      body: new Uint8Array(bytes),
    });
    expect(patched.status).toBe(204);
    return id;
  }

  function captureOfUploads(sub: string, ids: string[]): Promise<Response> {
    const form = new FormData();
    form.append('metadata', JSON.stringify({ title: 'Aus Uploads' }));
    for (const id of ids) form.append('upload', id);
    return fetch(`${service.url}/v1/documents`, { method: 'POST', headers: { authorization: `Bearer ${token(sub)}` }, body: form });
  }

  it('item 4: one user trickling bodies is cut off (408) or held to its share (503), while another user captures', async () => {
    const run = await underAttack(service, async () => {
      const answers: Answer[] = [];
      let attacking = true;
      // Six connections at a time, each reopened when answered: the attacker never lets up.
      const attacker = async () => {
        while (attacking) answers.push(await slowCapture(service.url, token('attacker'), { length: MiB, bytesPerSecond: 200 }).answer);
      };
      const attackers = Array.from({ length: 6 }, attacker);
      await untilAdmitted(service.url, 2);
      const victims: number[] = [];
      for (let i = 0; i < 3; i++) victims.push((await victimCapture()).status);
      attacking = false;
      await Promise.all(attackers);
      return { answers, victims };
    });
    expect(run.result.victims).toEqual([201, 201, 201]);
    // A cut-off connection lingers before it closes, so the client still sending reads its 408: never a reset instead.
    expectOnlyRefusals(run.result.answers, [408, 503]);
    const cutOff = run.result.answers.filter((a) => a.status === 408);
    expect(cutOff.length).toBeGreaterThan(0);
    for (const answer of cutOff) {
      expect(answer).toMatchObject({ code: 'request_timeout', contentType: expect.stringMatching(/^application\/problem\+json/) });
      expect(answer.detail).toMatch(/^Der Request-Body kam langsamer als 1024 Bytes pro Sekunde an/);
    }
    expect(run.result.answers.filter((a) => a.status === 503).every((a) => a.code === 'busy' && a.retryAfter)).toBe(true);
    expectHealthy(run);
  });

  it('item 4: headers that never end are answered 408 within the headers timeout, as a problem, then closed by FIN', async () => {
    const run = await underAttack(service, () => Promise.all(Array.from({ length: 20 }, () => endlessHeaders(service.url))));
    for (const answer of run.result) {
      expect(answer).toMatchObject({ status: 408, code: 'request_timeout', connection: 'close', ended: 'end', contentType: expect.stringMatching(/^application\/problem\+json/) });
      expect(answer.detail).toMatch(/^Die Header der Anfrage kamen nicht innerhalb von 2 s vollständig an \(HEADERS_TIMEOUT_SECONDS\)/);
    }
    expectHealthy(run);
    expect((await victimCapture()).status).toBe(201);
  });

  it('item 1: an upload named 100 times, or uploads summing over MAX_REQUEST_BYTES, are refused before they are read', async () => {
    const jwe = Buffer.from(await encryptFor(key, await jpegWithMarker(newMarker(), 700, 700), 'image/jpeg'));
    const id = await finishedUpload('attacker', jwe);
    const run = await underAttack(service, async () => {
      const repeated = await captureOfUploads('attacker', Array.from({ length: 100 }, () => id));
      const declared: string[] = [];
      for (let i = 0; i < 8; i++) {
        const created = await fetch(`${service.url}/v1/uploads`, {
          method: 'POST',
          headers: { ...TUS, authorization: `Bearer ${token('attacker')}`, 'upload-length': String(2.5 * 1000 * 1000), 'upload-metadata': tusMetadata({ filetype: 'application/jose' }) },
        });
        declared.push(created.headers.get('location')!.split('/').pop()!);
      }
      const oversized = await captureOfUploads('attacker', declared);
      return { repeated: { status: repeated.status, body: await repeated.json() }, oversized: { status: oversized.status, body: await oversized.json() } };
    });
    expect(run.result.repeated).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
    expect(run.result.oversized).toMatchObject({ status: 413, body: { code: 'payload_too_large', limit: 16 * MiB } });
    expectHealthy(run);
    // The upload was refused, not consumed: named once it becomes a document.
    expect((await captureOfUploads('attacker', [id])).status).toBe(201);
  });

  it('item 1: referenced bytes count against admission: they must fit beside what other requests hold', async () => {
    const jwe = Buffer.from(await encryptFor(key, await jpegWithMarker(newMarker(), 1000, 1000), 'image/jpeg'));
    const id = await finishedUpload('victim', jwe);
    expect(jwe.length).toBeGreaterThan(0.5 * MiB);
    // A slow but legal capture (above the minimum rate) holds 16 MiB of the 16.5 MiB budget.
    const holder = slowCapture(service.url, token('holder-1'), { length: 16 * MiB, bytesPerSecond: 64 * 1024 });
    try {
      await untilAdmitted(service.url, 1);
      const refused = await captureOfUploads('victim', [id]);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await refused.json()).toMatchObject({ code: 'busy' });
    } finally {
      holder.stop();
      await holder.answer;
      await untilIdle(service.url);
    }
    expect((await captureOfUploads('victim', [id])).status).toBe(201);
  });

  it('item 3: metadata sent as a 10 MB file part of nested arrays is refused with 413, /healthz answering throughout', async () => {
    const bomb = metadataBomb(await jpegWithMarker(newMarker()));
    const run = await underAttack(service, () => sendMetadataBomb(service.url, token('attacker'), bomb));
    expect(run.result).toMatchObject({ status: 413, code: 'payload_too_large' });
    expectHealthy(run);
  });

  it('item 5: captures and tus share one admission counter, and POST /v1/uploads/<anything> passes it', async () => {
    const holders: Trickle[] = [slowCapture(service.url, token('holder-1'), { length: MiB, bytesPerSecond: 16 * 1024 }), slowCapture(service.url, token('holder-1'), { length: MiB, bytesPerSecond: 16 * 1024 })];
    for (let i = 0; i < 2; i++) {
      const created = await fetch(`${service.url}/v1/uploads`, {
        method: 'POST',
        headers: { ...TUS, authorization: `Bearer ${token('holder-2')}`, 'upload-length': String(MiB), 'upload-metadata': tusMetadata({ filetype: 'application/jose' }) },
      });
      const path = new URL(created.headers.get('location')!, service.url).pathname;
      const jweStart = Buffer.from(`${Buffer.from(JSON.stringify({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM' })).toString('base64url')}.`);
      holders.push(
        trickle(service.url, {
          method: 'PATCH',
          path,
          headers: { ...TUS, authorization: `Bearer ${token('holder-2')}`, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
          length: MiB,
          head: jweStart,
          bytesPerTick: 4096,
          everyMs: 250,
        }),
      );
    }
    const run = await underAttack(service, async () => {
      await untilAdmitted(service.url, 4);
      const late = { authorization: `Bearer ${token('late')}` };
      const capture = await victimCaptureAs(late);
      const anything = await fetch(`${service.url}/v1/uploads/anything`, { method: 'POST', headers: { ...TUS, ...late, 'content-type': 'application/offset+octet-stream', 'upload-length': '4' }, body: 'abcd' });
      const creation = await fetch(`${service.url}/v1/uploads`, { method: 'POST', headers: { ...TUS, ...late, 'upload-length': '100', 'upload-metadata': tusMetadata({ filetype: 'application/jose' }) } });
      return Promise.all([capture, anything, creation].map(async (res) => ({ status: res.status, code: ((await res.json()) as { code?: string }).code, retryAfter: res.headers.get('retry-after') })));
    }).finally(() => holders.forEach((holder) => holder.stop()));
    for (const answer of run.result) expect(answer).toMatchObject({ status: 503, code: 'busy', retryAfter: expect.stringMatching(/^\d+$/) });
    expectHealthy(run);
    expectOnlyRefusals(await Promise.all(holders.map((h) => h.answer)), ['closed', 408]);
    await untilIdle(service.url);
    const anything = await fetch(`${service.url}/v1/uploads/anything`, { method: 'POST', headers: { ...TUS, authorization: `Bearer ${token('late')}`, 'upload-length': '4' }, body: 'abcd' });
    expect(anything.status).toBeGreaterThanOrEqual(400);
    expect(anything.status).toBeLessThan(500);
  });

  describe('a request refused while its body is still arriving: the client that keeps sending reads the answer off its socket', () => {
    const problem = { contentType: expect.stringMatching(/^application\/problem\+json/) };
    const capture = (head: Buffer, length: number, complete = false) =>
      sendPastRefusal(service.url, { path: '/v1/documents', headers: { authorization: `Bearer ${token('attacker')}`, 'content-type': 'multipart/form-data; boundary=b' }, length, head, complete });
    const filePart = (field: string) => Buffer.from(`--b\r\nContent-Disposition: form-data; name="${field}"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`);

    afterAll(async () => {
      // Each lingering connection ends within its bounds (one that stopped reading cannot see its client's FIN, so it waits them out): none stays open.
      const deadline = Date.now() + HANG_GUARD_MS;
      while ((await gauge(service.url, 'vsc_lingering_connections')) > 0) {
        if (Date.now() > deadline) throw new Error(`connections still lingering after ${HANG_GUARD_MS} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await untilIdle(service.url);
    });

    it('413 for a Content-Length over MAX_REQUEST_BYTES, answered before the body is read, then the connection closed', async () => {
      const answer = await capture(captureHead().head, 17 * MiB);
      expect(answer).toMatchObject({ status: 413, code: 'payload_too_large', connection: 'close', ...problem });
      expect(answer.detail).toMatch(/^Die Anfrage hat 17825792 Bytes; höchstens 16777216/);
    });

    it('413 for a resumable upload chunk past its Upload-Length, answered before the chunk is read', async () => {
      const created = await fetch(`${service.url}/v1/uploads`, {
        method: 'POST',
        headers: { ...TUS, authorization: `Bearer ${token('attacker')}`, 'upload-length': String(MiB), 'upload-metadata': tusMetadata({ filetype: 'application/jose' }) },
      });
      const path = new URL(created.headers.get('location')!, service.url).pathname;
      const answer = await sendPastRefusal(service.url, {
        method: 'PATCH',
        path,
        headers: { ...TUS, authorization: `Bearer ${token('attacker')}`, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
        length: 2 * MiB,
        head: Buffer.alloc(0),
      });
      expect(answer).toMatchObject({ status: 413, code: 'payload_too_large', connection: 'close', ...problem });
      expect(answer.detail).toMatch(/^Der Upload-Dienst \(tus\) lehnt ab/);
    });

    // A part past its bound is answered at once: the body never ends here, so only a refusal mid-body can answer 413 (reading on would end in the rate cut-off's 408).
    it('413 for a file part over MAX_FILE_BYTES, answered midway through the part, then the connection closed', async () => {
      const answer = await capture(captureHead().head, 8 * MiB);
      expect(answer).toMatchObject({ status: 413, code: 'payload_too_large', connection: 'close', ...problem });
      expect(answer.detail).toMatch(/^Ein Dateiteil überschreitet die Größengrenze/);
    });

    it('413 for a metadata file part over its 64 KiB bound (a metadata bomb), answered midway through the part, then the connection closed', async () => {
      const answer = await capture(filePart('metadata'), 10 * MiB);
      expect(answer).toMatchObject({ status: 413, code: 'payload_too_large', connection: 'close', ...problem });
      expect(answer.detail).toMatch(/^Ein Formularfeld ist zu lang: die Metadaten dürfen höchstens 64 KiB groß sein/);
    });

    // multer's own refusals (here an unexpected field) read the body to its end before they answer, on a connection kept open.
    it('400 for a file in an unexpected field, refused while its bytes keep coming', async () => {
      const answer = await capture(filePart('anhang'), 8 * MiB, true);
      expect(answer).toMatchObject({ status: 400, code: 'bad_request', ...problem });
      expect(answer.detail).toMatch(/^Unerwartetes Dateifeld 'anhang'/);
    });
  });

  async function victimCaptureAs(headers: Record<string, string>): Promise<Response> {
    const body = await encryptedCapture(key, 'Zu spät', [await jpegWithMarker(newMarker())]);
    return fetch(`${service.url}/v1/documents`, { method: 'POST', headers, body });
  }
});

describe('denial of service: an identity provider that accepts connections and never answers', () => {
  let service: ServiceProcess;
  let silent: net.Server;
  const sockets = new Set<net.Socket>();

  beforeAll(async () => {
    silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const { port } = silent.address() as net.AddressInfo;
    service = await startService({ ...DOS_ENV, OIDC_ISSUER: `http://127.0.0.1:${port}/realms/behoerde`, OIDC_AUDIENCE: 'vs-capture', OIDC_TIMEOUT_SECONDS: '1' });
  });
  afterAll(async () => {
    await service?.stop();
    for (const socket of sockets) socket.destroy();
    silent?.close();
  });

  it('item 6: every authenticated request is answered 503 with Retry-After instead of hanging, /healthz answering', async () => {
    // Well-formed, so only the provider's keys could decide it.
    const jwt = `${Buffer.from(JSON.stringify({ alg: 'ES256', kid: 'k1' })).toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'u1' })).toString('base64url')}.c2ln`;
    const run = await underAttack(service, () =>
      Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const res = await fetch(`${service.url}/v1/documents${i % 2 ? '' : '?limit=1'}`, { headers: { authorization: `Bearer ${jwt}` }, signal: AbortSignal.timeout(60_000) });
          return { status: res.status, code: ((await res.json()) as { code?: string }).code, retryAfter: res.headers.get('retry-after') };
        }),
      ),
    );
    for (const answer of run.result) expect(answer).toMatchObject({ status: 503, code: 'idp_unavailable', retryAfter: expect.stringMatching(/^\d+$/) });
    expectHealthy(run);
  });
});
