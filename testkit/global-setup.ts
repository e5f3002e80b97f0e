/**
 * vitest globalSetup: one real S3 server and one real PostgreSQL server for the whole run. Uses
 * S3_ENDPOINT (+ S3_ACCESS_KEY, S3_SECRET_KEY, optional S3_REGION) when set, else starts a throwaway
 * Ceph RGW; uses TEST_DATABASE_URL (a superuser's, tests create databases) when set, else starts a
 * throwaway PostgreSQL 15. Both stop at the end. Tests read them with `inject('s3')` and
 * `inject('postgres')`; they never skip when one is missing: setup fails.
 */
import type { TestProject } from 'vitest/node';
import { startCephRgw } from './ceph-rgw.ts';
import { startPostgres } from './postgres.ts';

export interface S3Target {
  endpoint: string;
  region: string;
  accessKey: string;
  secretKey: string;
  /** What serves it, for suite names: "Ceph RGW" when started here, else the S3_ENDPOINT. */
  label: string;
}

export interface PostgresTarget {
  /** A superuser's URL on the server; tests make their own databases (testkit/database.ts). */
  adminUrl: string;
  /** The server's data directory when started here (for the marker scan), else undefined. */
  dataDir?: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    s3: S3Target;
    postgres: PostgresTarget;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stopPostgres = await setupPostgres(project);
  const stopS3 = await setupS3(project);
  return async () => {
    await stopS3();
    await stopPostgres();
  };
}

async function setupPostgres(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.TEST_DATABASE_URL) {
    project.provide('postgres', { adminUrl: process.env.TEST_DATABASE_URL });
    return async () => undefined;
  }
  const server = await startPostgres();
  project.provide('postgres', { adminUrl: server.url, dataDir: server.dataDir });
  return () => server.stop();
}

async function setupS3(project: TestProject): Promise<() => Promise<void>> {
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
