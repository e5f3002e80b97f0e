/**
 * vitest globalSetup: one real S3 server for the whole run. Uses S3_ENDPOINT (+ S3_ACCESS_KEY,
 * S3_SECRET_KEY, optional S3_REGION) when set, else starts a throwaway Ceph RGW and stops it at
 * the end. Tests read it with `inject('s3')`; they never skip when it is missing: setup fails.
 */
import type { TestProject } from 'vitest/node';
import { startCephRgw } from './ceph-rgw.ts';

export interface S3Target {
  endpoint: string;
  region: string;
  accessKey: string;
  secretKey: string;
  /** What serves it, for suite names: "Ceph RGW" when started here, else the S3_ENDPOINT. */
  label: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    s3: S3Target;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_REGION = 'us-east-1' } = process.env;
  if (S3_ENDPOINT) {
    if (!S3_ACCESS_KEY || !S3_SECRET_KEY) throw new Error('S3_ENDPOINT is set, so S3_ACCESS_KEY and S3_SECRET_KEY must be too');
    project.provide('s3', { endpoint: S3_ENDPOINT, region: S3_REGION, accessKey: S3_ACCESS_KEY, secretKey: S3_SECRET_KEY, label: S3_ENDPOINT });
    return async () => undefined;
  }
  const rgw = await startCephRgw();
  project.provide('s3', { endpoint: rgw.endpoint, region: rgw.region, accessKey: rgw.accessKey, secretKey: rgw.secretKey, label: 'Ceph RGW' });
  return () => rgw.stop();
}
