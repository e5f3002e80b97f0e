/** A parse error in bytes that follow a complete request belongs to those bytes, not to the request being served. */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clerk, devToken } from '../../testkit/service-client.ts';
import { startService, type ServiceProcess } from '../../testkit/service-process.ts';
import { DOS_ENV } from '../../testkit/dos-attacks.ts';

/** Writes `bytes` in one segment and collects everything the server sends until it closes. */
function rawExchange(baseUrl: string, bytes: string): Promise<string> {
  const url = new URL(baseUrl);
  return new Promise((resolve) => {
    const socket = net.connect(Number(url.port), url.hostname, () => socket.write(bytes));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
  });
}

describe('a complete request followed by bytes that are not HTTP', () => {
  let service: ServiceProcess;
  beforeAll(async () => {
    service = await startService({ ...DOS_ENV });
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('gets its own answer first; the garbage after it is refused after that answer', async () => {
    const token = await devToken(service.url, clerk('pipelined'));
    const host = new URL(service.url).host;
    const wire = await rawExchange(service.url, `GET /v1/documents HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${token}\r\n\r\nGARBAGE \u0001 NOT-HTTP\r\n\r\n`);
    expect(wire.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    // Then the refusal of the garbage, and the connection closes.
    expect(wire).toMatch(/\r\n\r\n[^]*HTTP\/1\.1 400 Bad Request\r\n[^]*"code":"bad_request"/);
  });
});
