/**
 * Node's own refusals, over raw sockets against a service process: headers that never finish, a
 * header section over the size limit, bytes that are not HTTP, a client that half-closes mid-request, and a body that outlasts
 * REQUEST_TIMEOUT_SECONDS. Each is answered like every other refusal (problem+json, German unless
 * the request's headers were read and ask for English, `Connection: close`), the client reads it
 * before the connection closes, and /metrics counts it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clerk, devToken } from '../../testkit/service-client.ts';
import { METRICS_AUTH, startService, type ServiceProcess } from '../../testkit/service-process.ts';
import { captureHead, DOS_ENV, endlessHeaders, gauge, HANG_GUARD_MS, sendAndHalfClose, sendPastRefusal, sendSteadily } from '../../testkit/dos-attacks.ts';

const problem = { connection: 'close', ended: 'end', contentType: expect.stringMatching(/^application\/problem\+json/) };

describe("Node's own refusals answered as problems, read by a client still sending", () => {
  let service: ServiceProcess;

  beforeAll(async () => {
    // Small bounds so each refusal comes quickly; the mechanisms are the production ones.
    service = await startService({ ...DOS_ENV, HEADERS_TIMEOUT_SECONDS: '1', REQUEST_TIMEOUT_SECONDS: '3' });
  });
  afterAll(async () => {
    // Every refused connection ends within its linger bounds: none stays open.
    const deadline = Date.now() + HANG_GUARD_MS;
    while ((await gauge(service.url, 'vsc_lingering_connections')) > 0) {
      if (Date.now() > deadline) throw new Error(`connections still lingering after ${HANG_GUARD_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await service?.stop();
  });

  /** vsc_http_protocol_refusals_total for one status and reason (0 before the first). */
  async function refusals(status: number, reason: string): Promise<number> {
    const text = await (await fetch(`${service.url}/metrics`, { headers: METRICS_AUTH })).text();
    const match = new RegExp(`^vsc_http_protocol_refusals_total\\{status="${status}",reason="${reason}"\\} (\\d+)$`, 'm').exec(text);
    return match ? Number(match[1]) : 0;
  }

  it('headers that never finish: 408 request_timeout after HEADERS_TIMEOUT_SECONDS, in German', async () => {
    const before = await refusals(408, 'headers_timeout');
    const answer = await endlessHeaders(service.url);
    expect(answer).toMatchObject({ status: 408, code: 'request_timeout', ...problem });
    expect(answer.detail).toBe('Die Header der Anfrage kamen nicht innerhalb von 1 s vollständig an (HEADERS_TIMEOUT_SECONDS); die Verbindung wird geschlossen. Senden Sie die Anfrage erneut.');
    expect(await refusals(408, 'headers_timeout')).toBe(before + 1);
  });

  it('a header section over the size limit: 431 header_fields_too_large naming the limit', async () => {
    const before = await refusals(431, 'header_overflow');
    const answer = await sendPastRefusal(service.url, { method: 'GET', path: '/healthz', headers: { 'x-big': 'a'.repeat(20 * 1024) }, length: 0, head: Buffer.alloc(0), complete: true });
    expect(answer).toMatchObject({ status: 431, code: 'header_fields_too_large', ...problem });
    expect(answer.detail).toBe('Die Header der Anfrage sind zusammen größer als 16384 Bytes. Senden Sie weniger oder kürzere Header.');
    expect(await refusals(431, 'header_overflow')).toBe(before + 1);
  });

  it('a request line that is not HTTP: 400 bad_request naming the parse error', async () => {
    const before = await refusals(400, 'parse_error');
    const answer = await sendPastRefusal(service.url, { startLine: 'GARBAGE \u0001 NOT-HTTP', path: '/', headers: {}, length: 0, head: Buffer.alloc(0), complete: true });
    expect(answer).toMatchObject({ status: 400, code: 'bad_request', ...problem });
    expect(answer.detail).toMatch(/^Die Anfrage ist kein gültiges HTTP\/1\.1 \(HPE_[A-Z_]+\); die Verbindung wird geschlossen\./);
    expect(await refusals(400, 'parse_error')).toBe(before + 1);
  });

  it('a request whose client half-closes before its headers end: 400 bad_request, read after its own FIN', async () => {
    const before = await refusals(400, 'ended_early');
    const answer = await sendAndHalfClose(service.url, `GET /healthz HTTP/1.1\r\nHost: ${new URL(service.url).host}\r\n`);
    expect(answer).toMatchObject({ status: 400, code: 'bad_request', ...problem });
    expect(answer.detail).toBe('Die Verbindung wurde mitten in der Anfrage beendet; die Anfrage ist unvollständig. Senden Sie sie erneut.');
    expect(await refusals(400, 'ended_early')).toBe(before + 1);
  });

  it('a body still arriving, above the minimum rate, when REQUEST_TIMEOUT_SECONDS runs out: the client reads the 408, in the language it asked for', async () => {
    const url = new URL(service.url);
    const token = await devToken(service.url, clerk('steady'));
    const { contentType, head } = captureHead('Zu lang');
    const headers = [`POST /v1/documents HTTP/1.1`, `Host: ${url.host}`, `Authorization: Bearer ${token}`, `Content-Type: ${contentType}`, `Content-Length: ${8 * 2 ** 20}`, 'Accept-Language: en'];
    const before = await refusals(408, 'request_timeout');
    // 64 KiB/s, far above MIN_BODY_BYTES_PER_SECOND: only the whole-request bound can end it.
    const answer = await sendSteadily(service.url, { head: `${headers.join('\r\n')}\r\n\r\n${head.toString('latin1')}`, bytesPerTick: 16 * 1024, everyMs: 250 });
    expect(answer).toMatchObject({ status: 408, code: 'request_timeout', ...problem });
    expect(answer.detail).toBe('The request did not arrive completely within 3 s (REQUEST_TIMEOUT_SECONDS) and was cut off. Send large files through the resumable upload (/v1/uploads), in chunks that each arrive in time.');
    expect(await refusals(408, 'request_timeout')).toBe(before + 1);
  });

  it('after all of it the service still serves', async () => {
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
  });
});
