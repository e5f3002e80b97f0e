/**
 * What the Docker image does, checked without Docker: a clean copy of the repository installed with
 * `npm ci --omit=dev` (no esbuild, no test tools), the viewer prebuilt as `npm run build` does, then
 * started with NODE_ENV=production against the run's Ceph S3 gateway and a real OpenID Provider over
 * https (oidc-provider behind a throwaway self-signed certificate the service is told to trust).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bundleViewer } from '../../viewer/build.ts';
import { bundleWorkspace } from '../../workspace/build.ts';
import { jpegWithMarker, newMarker } from '../../testkit/capture-fixtures.ts';
import { encryptedCapture, ingestKey, postCapture } from '../../testkit/service-client.ts';
import { s3Env, startService, type ServiceProcess } from '../../testkit/service-process.ts';
import { keyFiles } from '../../ops/generate-keys.ts';
import { startOpenIdProvider, type OpenIdProvider } from '../support/openid-provider.ts';
import { selfSigned } from '../support/self-signed.ts';
import { uniqueBucket } from '../../testkit/s3.ts';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const AUDIENCE = 'vs-capture';
const UNIT = 'BA-Nord';

/** A copy of the working tree (tracked and new files, nothing ignored), installed for production only. */
async function productionCopy(dir: string): Promise<void> {
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO, maxBuffer: 64 * 2 ** 20 });
  for (const file of stdout.split('\0').filter(Boolean)) {
    if (!existsSync(path.join(REPO, file))) continue;
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await cp(path.join(REPO, file), path.join(dir, file));
  }
  await run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], { cwd: dir, maxBuffer: 64 * 2 ** 20 });
  // `npm run build` in the image's build stage; written here by the same function.
  for (const [app, bundle] of [['viewer', bundleViewer], ['workspace', bundleWorkspace]] as const) {
    await mkdir(path.join(dir, app, 'dist'), { recursive: true });
    for (const [name, { body }] of await bundle()) await writeFile(path.join(dir, app, 'dist', name), body);
  }
}

describe('production start from a copy installed without dev dependencies (Ceph S3, OIDC over https)', () => {
  let dir: string;
  let idp: OpenIdProvider;
  let env: Record<string, string>;
  let service: ServiceProcess;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vsc-production-'));
    const copy = path.join(dir, 'app');
    const [, tls] = await Promise.all([productionCopy(copy), selfSigned(dir)]);
    idp = await startOpenIdProvider({
      audience: AUDIENCE,
      tls: { key: tls.key, cert: tls.cert, host: 'localhost' },
      personas: { erika: { roles: ['capture', 'read', 'export'], units: [UNIT], name: 'Erika Mustermann' } },
    });
    // The keys as the compose file's init step makes them, with the production copy's own tools.
    const secrets = path.join(dir, 'secrets');
    await run(process.execPath, ['--import', 'tsx', 'ops/generate-keys.ts', secrets], { cwd: copy });
    env = {
      NODE_ENV: 'production',
      PUBLIC_URL: 'https://capture.example',
      ...s3Env(inject('s3'), uniqueBucket('production')),
      ...keyFiles(secrets),
      OIDC_ISSUER: idp.issuer,
      OIDC_AUDIENCE: AUDIENCE,
      NODE_EXTRA_CA_CERTS: tls.certFile,
      LOG_LEVEL: 'warn',
    };
    service = await startService(env, { cwd: copy });
  });
  afterAll(async () => {
    await service?.stop();
    await idp?.stop().catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('has no dev dependency installed: no test runner, no compiler, no browser driver', () => {
    const modules = path.join(dir, 'app/node_modules');
    // esbuild is there only as tsx's own dependency (tsx runs the TypeScript sources); the viewer is prebuilt.
    expect(existsSync(path.join(modules, 'tsx'))).toBe(true);
    for (const dev of ['vitest', 'supertest', 'oidc-provider', 'typescript', 'playwright-core', '@redocly/cli']) expect(existsSync(path.join(modules, dev)), dev).toBe(false);
  });

  it('generates its keys once: running the init step again changes no key file', async () => {
    const files = Object.values(keyFiles(path.join(dir, 'secrets'))).filter((f) => f.endsWith('.json'));
    const before = await Promise.all(files.map((f) => readFile(f, 'utf8')));
    await run(process.execPath, ['--import', 'tsx', 'ops/generate-keys.ts', path.join(dir, 'secrets')], { cwd: path.join(dir, 'app') });
    expect(await Promise.all(files.map((f) => readFile(f, 'utf8')))).toEqual(before);
    for (const file of files) expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('is live and ready on Ceph, serves the prebuilt viewer, and offers no development token issuer', async () => {
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
    const viewer = await fetch(`${service.url}/viewer/viewer.js`);
    expect(viewer.status).toBe(200);
    expect(viewer.headers.get('strict-transport-security')).toMatch(/max-age=/);
    const dev = await fetch(`${service.url}/v1/dev/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"sub":"x"}' });
    expect([401, 404]).toContain(dev.status);
  });

  it('accepts an encrypted capture with a token of the https provider, and refuses plaintext parts', async () => {
    const token = await idp.token('erika');
    const key = await ingestKey(service.url);
    const photo = await jpegWithMarker(newMarker());
    const created = await postCapture(service.url, token, await encryptedCapture(key, 'Produktion', [photo]));
    expect(created.status).toBe(201);
    expect(((await created.json()) as { unit: string }).unit).toBe(UNIT);

    const plain = new FormData();
    plain.append('metadata', JSON.stringify({ title: 'Klartext' }));
    plain.append('file', new Blob([new Uint8Array(photo)], { type: 'image/jpeg' }), 'a.jpg');
    const refused = await postCapture(service.url, token, plain);
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { detail: string }).detail).toMatch(/ist nicht verschlüsselt/);
  });

  it('refuses a provider whose discovered issuer differs from OIDC_ISSUER: 503 with Retry-After, never its tokens', async () => {
    // The same provider, configured with a trailing slash: its discovery document names another issuer string.
    const mismatched = await startService({ ...env, OIDC_ISSUER: `${idp.issuer}/` }, { cwd: path.join(dir, 'app') });
    try {
      const res = await fetch(`${mismatched.url}/v1/documents`, { headers: { authorization: `Bearer ${await idp.token('erika')}` } });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await res.json()).toMatchObject({ code: 'idp_unavailable' });
    } finally {
      await mismatched.stop();
    }
  });
});
