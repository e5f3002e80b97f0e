/**
 * docker-compose.yml as far as it can be checked without a Docker engine: Debian's docker-compose
 * resolves it (`config`), the service's resolved environment passes our own configuration check in
 * production mode, and the Keycloak realm it imports defines what the service reads from tokens.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { ROLES } from '../../src/auth/principal.ts';
import { ACCEPTED_JWT_ALGS } from '../../src/auth/oidc.ts';
import { keyFiles } from '../../ops/generate-keys.ts';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../', import.meta.url));

interface ComposeService {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  /** docker-compose 1.29 writes `source:target[:mode]`. */
  volumes?: string[];
}

async function resolved(): Promise<{ services: Record<string, ComposeService> }> {
  // An empty environment: the defaults of the file decide, not whatever this machine has set.
  const { stdout } = await run('docker-compose', ['config'], { cwd: REPO, env: { PATH: process.env.PATH ?? '' } });
  return parse(stdout) as { services: Record<string, ComposeService> };
}

describe('docker-compose.yml', () => {
  it('is valid for docker-compose (config -q)', async () => {
    await run('docker-compose', ['config', '-q'], { cwd: REPO, env: { PATH: process.env.PATH ?? '' } });
  });

  it('starts the service in production mode with keys from the init step, MinIO and Keycloak over https', async () => {
    const { services } = await resolved();
    const service = services['vs-capture']!;
    const env = service.environment!;
    expect(env.NODE_ENV).toBe('production');
    expect(env).toMatchObject(keyFiles('/secrets'));
    expect(service.depends_on).toMatchObject({ 'keys-init': { condition: 'service_completed_successfully' }, 'minio-init': { condition: 'service_completed_successfully' } });
    expect(services['keys-init']!.command).toEqual(['node', '--import', 'tsx', 'ops/generate-keys.ts', '/secrets']);
    // Our own start-up check accepts it: production, no development issuer, encryption required.
    const config = loadConfig(env);
    expect(config.devMode).toBe(false);
    expect(config.requireEncryption).toBe(true);
    expect(config.oidc?.issuer).toMatch(/^https:\/\/keycloak:8443\/realms\//);
    expect(env.NODE_EXTRA_CA_CERTS).toBe('/tls/keycloak.crt');
  });

  it('imports a Keycloak realm with our roles, the units claim, our audience and an ES256 signing key', async () => {
    const { services } = await resolved();
    const keycloak = services.keycloak!;
    expect(keycloak.command).toContain('--import-realm');
    const realmMount = keycloak.volumes!.map((v) => v.split(':')).find(([, target]) => target?.startsWith('/opt/keycloak/data/import/'))!;
    const realm = JSON.parse(await readFile(realmMount[0]!, 'utf8'));
    const env = services['vs-capture']!.environment!;
    expect(env.OIDC_ISSUER).toBe(`https://keycloak:8443/realms/${realm.realm}`);
    expect(realm.roles.realm.map((r: { name: string }) => r.name).sort()).toEqual([...ROLES].sort());
    expect(ACCEPTED_JWT_ALGS).toContain(realm.defaultSignatureAlgorithm);
    const mappers = realm.clients.flatMap((c: { protocolMappers: Array<{ protocolMapper: string; config: Record<string, string> }> }) => c.protocolMappers);
    const units = mappers.find((m: { protocolMapper: string }) => m.protocolMapper === 'oidc-usermodel-attribute-mapper');
    expect(units.config).toMatchObject({ 'claim.name': loadConfig(env).claims.units, multivalued: 'true', 'access.token.claim': 'true' });
    const audience = mappers.find((m: { protocolMapper: string }) => m.protocolMapper === 'oidc-audience-mapper');
    expect(audience.config['included.custom.audience']).toBe(env.OIDC_AUDIENCE);
    for (const user of realm.users) {
      expect(user.attributes.units.length).toBeGreaterThan(0);
      for (const role of user.realmRoles) expect(ROLES).toContain(role);
    }
  });
});
