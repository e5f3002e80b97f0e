/** tus 1.0 requests by hand, so tests control every byte and header (creation, PATCH, HEAD). */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Express } from 'express';
import request from 'supertest';

export const TUS_HEADERS = { 'Tus-Resumable': '1.0.0' } as const;

/** Upload-Metadata: comma-separated `key base64(value)` pairs. */
export function tusMetadata(pairs: Record<string, string>): string {
  return Object.entries(pairs)
    .map(([key, value]) => `${key} ${Buffer.from(value).toString('base64')}`)
    .join(',');
}

export function createUpload(app: Express, token: string, size: number, metadata: Record<string, string> = { filetype: 'application/jose' }) {
  return request(app)
    .post('/v1/uploads')
    .set(TUS_HEADERS)
    .set('Authorization', `Bearer ${token}`)
    .set('Upload-Length', String(size))
    .set('Upload-Metadata', tusMetadata(metadata));
}

/** The upload id at the end of a creation response's Location. */
export function uploadIdOf(res: { headers: Record<string, string> }): string {
  return res.headers.location!.split('/').pop()!;
}

export function patchUpload(app: Express, token: string, id: string, offset: number, bytes: Buffer) {
  return request(app)
    .patch(`/v1/uploads/${id}`)
    .set(TUS_HEADERS)
    .set('Authorization', `Bearer ${token}`)
    .set('Upload-Offset', String(offset))
    .set('Content-Type', 'application/offset+octet-stream')
    .send(bytes);
}

export function headUpload(app: Express, token: string, id: string) {
  return request(app).head(`/v1/uploads/${id}`).set(TUS_HEADERS).set('Authorization', `Bearer ${token}`);
}

/**
 * A PATCH that announces all of `total` but sends only `sent` and then drops the connection,
 * as a phone losing its network does. The drop comes once the server has read every sent byte off
 * its socket; what it had passed on to the store by then is kept, what was still in its stream
 * buffers is not (the client resends it from HEAD's offset). Resolves with that offset: tus's HEAD
 * waits for the interrupted PATCH to let go of the upload, so it reports the final state.
 */
export async function interruptedPatch(app: Express, token: string, id: string, offset: number, sent: Buffer, total: number): Promise<number> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const arrived = new Promise<Socket>((resolve) => server.once('request', (incoming: http.IncomingMessage) => resolve(incoming.socket)));
    const req = http.request({
      host: '127.0.0.1',
      port,
      method: 'PATCH',
      path: `/v1/uploads/${id}`,
      headers: {
        ...TUS_HEADERS,
        Authorization: `Bearer ${token}`,
        'Upload-Offset': String(offset),
        'Content-Type': 'application/offset+octet-stream',
        'Content-Length': String(total),
      },
    });
    const closed = new Promise<void>((resolve) => {
      req.on('error', () => resolve());
      req.on('close', () => resolve());
    });
    req.flushHeaders();
    const socket = await arrived;
    // The headers are parsed and no body byte was sent yet: what the socket read so far is the head.
    const head = socket.bytesRead;
    req.write(sent);
    while (socket.bytesRead < head + sent.length) await new Promise((resolve) => setTimeout(resolve, 5));
    req.destroy();
    await closed;
    const res = await fetch(`http://127.0.0.1:${port}/v1/uploads/${id}`, { method: 'HEAD', headers: { ...TUS_HEADERS, Authorization: `Bearer ${token}` } });
    return Number(res.headers.get('upload-offset'));
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
