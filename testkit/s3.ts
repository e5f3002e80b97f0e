/** Test access to the run's S3 server (see global-setup.ts): store options, unique buckets, a plain client. */
import { randomBytes } from 'node:crypto';
import { Client } from 'minio';
import { inject } from 'vitest';
import { S3Store, type S3StoreOptions } from '../src/storage/s3-store.ts';
import { parseS3Endpoint } from '../src/storage/s3-endpoint.ts';

/** e.g. "S3Store (Ceph RGW)", so test output names the real server. */
export function s3Label(): string {
  return `S3Store (${inject('s3').label})`;
}

export function s3Options(bucket: string): S3StoreOptions {
  const { endpoint, region, accessKey, secretKey } = inject('s3');
  return { ...parseS3Endpoint(endpoint), region, bucket, accessKey, secretKey };
}

/** A bucket name no other test uses, so no test sees another's leftovers. */
export function uniqueBucket(purpose: string): string {
  return `vsc-${purpose}-${randomBytes(6).toString('hex')}`;
}

/** An S3Store on a fresh bucket of its own. */
export async function freshS3Store(purpose: string): Promise<S3Store> {
  const store = new S3Store(s3Options(uniqueBucket(purpose)));
  await store.ensureBucket();
  return store;
}

/** A plain minio client on the same server, to look at raw stored bytes. */
export function plainS3Client(): Client {
  const { endPoint, port, useSSL, region, accessKey, secretKey } = s3Options('unused');
  return new Client({ endPoint, port, useSSL, region, accessKey, secretKey, pathStyle: true });
}
