import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

/** A complete production setup. */
const PRODUCTION = {
  NODE_ENV: 'production',
  PUBLIC_URL: 'https://capture.behoerde.example',
  OIDC_ISSUER: 'https://idp.example/realms/behoerde',
  OIDC_AUDIENCE: 'vs-capture',
  STORAGE_KEYS_FILE: '/run/secrets/keks.json',
  SEARCH_KEYS_FILE: '/run/secrets/search-keys.json',
  DATABASE_URL: 'postgres://vs-capture@db.behoerde.example/vs_capture',
  INGEST_KEYS_DIR: '/run/secrets/ingest',
  VIEW_TICKET_KEY_FILE: '/run/secrets/view-ticket.jwk',
  MANIFEST_SIGNING_KEY_FILE: '/run/secrets/manifest.jwk',
};

describe('config', () => {
  it('has working embedded defaults: filesystem store, dev issuer, plain parts allowed', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ host: '127.0.0.1', port: 8080, devMode: true, requireEncryption: false, storage: { backend: 'fs' } });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names a bad variable but never echoes its value', () => {
    const secret = 'not-a-port-s3cr3t';
    const err = captureError(() => loadConfig({ PORT: secret, STORAGE_BACKEND: 'tape' }));
    expect(err.problems.join('\n')).toMatch(/PORT/);
    expect(err.problems.join('\n')).toMatch(/STORAGE_BACKEND/);
    expect(err.message).not.toContain(secret);
    expect(err.message).not.toContain('tape');
  });

  it('refuses production without an OIDC issuer and configured keys, and requires encryption there', () => {
    const err = captureError(() => loadConfig({ NODE_ENV: 'production' }));
    expect(err.problems.map((p) => p.split(':')[0])).toEqual(
      expect.arrayContaining(['OIDC_ISSUER', 'STORAGE_KEYS or STORAGE_KEYS_FILE', 'SEARCH_KEYS or SEARCH_KEYS_FILE', 'INGEST_KEYS or INGEST_KEYS_DIR', 'MANIFEST_SIGNING_KEY or MANIFEST_SIGNING_KEY_FILE']),
    );
    const config = loadConfig(PRODUCTION);
    expect(config).toMatchObject({ devMode: false, requireEncryption: true, databaseUrl: PRODUCTION.DATABASE_URL });
    expect(captureError(() => loadConfig({ ...PRODUCTION, DATABASE_URL: 'mysql://db/x' })).problems.join()).toMatch(/^DATABASE_URL/);
  });

  it('refuses REQUIRE_ENCRYPTION=false in production: plaintext parts would be accepted there', () => {
    const err = captureError(() => loadConfig({ ...PRODUCTION, REQUIRE_ENCRYPTION: 'false' }));
    expect(err.problems.map((p) => p.split(':')[0])).toEqual(['REQUIRE_ENCRYPTION']);
  });

  it('refuses production without PUBLIC_URL and with an identity provider over plain http', () => {
    const { PUBLIC_URL: _unset, ...withoutUrl } = PRODUCTION;
    expect(captureError(() => loadConfig(withoutUrl)).problems.map((p) => p.split(':')[0])).toEqual(['PUBLIC_URL']);
    const err = captureError(() => loadConfig({ ...PRODUCTION, OIDC_ISSUER: 'http://idp.example/realms/b', OIDC_JWKS_URL: 'http://idp.example/certs' }));
    expect(err.problems.map((p) => p.split(':')[0])).toEqual(['OIDC_ISSUER', 'OIDC_JWKS_URL']);
    expect(loadConfig({ OIDC_ISSUER: 'http://127.0.0.1:8081/realms/dev', OIDC_AUDIENCE: 'vs-capture' }).oidc?.issuer).toBe('http://127.0.0.1:8081/realms/dev');
  });

  it('needs endpoint and credentials for S3 and splits the endpoint URL', () => {
    const err = captureError(() => loadConfig({ STORAGE_BACKEND: 's3' }));
    expect(err.problems.map((p) => p.split(':')[0])).toEqual(['S3_ENDPOINT', 'S3_ACCESS_KEY', 'S3_SECRET_KEY']);
    const config = loadConfig({ STORAGE_BACKEND: 's3', S3_ENDPOINT: 'https://s3.example:9443', S3_ACCESS_KEY: 'a', S3_SECRET_KEY: 'b' });
    expect(config.storage).toMatchObject({ backend: 's3', s3: { endPoint: 's3.example', port: 9443, useSSL: true } });
  });
});

function captureError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}
