/** tus 1.0 requests by hand, so tests control every byte and header (creation, PATCH, HEAD). */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
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
 * as a phone losing its network does. Resolves once the socket is gone.
 */
export async function interruptedPatch(app: Express, token: string, id: string, offset: number, sent: Buffer, total: number): Promise<void> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => {
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
      req.on('error', () => resolve());
      req.on('close', () => resolve());
      // Give the bytes time to reach the server before the connection drops.
      req.write(sent, () => setTimeout(() => req.destroy(), 300));
    });
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
