/**
 * `npm run audit:verify [--full] [--json]`: verifies the audit chain in the metadata database the
 * service is configured with (same environment variables): from the newest signed checkpoint, or
 * with `--full` from the first entry; reports the first broken link.
 * Exit codes: 0 intact, 1 broken, 2 could not check (configuration, database).
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { verifyAuditTrail, type AuditReport } from '../src/audit/verify.ts';
import { composeMetadata } from '../src/compose.ts';
import { ConfigError, loadConfig } from '../src/config.ts';
import { createManifestSigner, MANIFEST_KEY } from '../src/documents/manifest.ts';
import { loadKey } from '../src/keys/key-source.ts';

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false }, full: { type: 'boolean', default: false } } });
  let report: AuditReport;
  try {
    const config = loadConfig();
    const { publicJwks } = await createManifestSigner(await loadKey(config.manifestKey, MANIFEST_KEY));
    const metadata = await composeMetadata(config);
    try {
      report = await verifyAuditTrail(metadata.audit, { full: values.full, jwks: publicJwks() });
    } finally {
      await metadata.close();
    }
  } catch (err) {
    // Config errors name variables, never values: safe to print as they are.
    process.stderr.write(err instanceof ConfigError ? `${err.message}\n` : `audit verification could not run: ${(err as Error).message}\n`);
    return 2;
  }
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : summary(report));
  return report.ok ? 0 : 1;
}

function summary(report: AuditReport): string {
  const from = report.from ? `from the checkpoint at entry ${report.from.seq} (${report.from.at})` : 'from the first entry';
  const lines = [`${report.entries} entries checked ${from} (${report.mode})`];
  const [first, ...rest] = report.problems;
  if (first) {
    lines.push(`BROKEN at entry ${first.seq}${first.entryId ? ` (${first.entryId})` : ''}: [${first.kind}] ${first.message}`, ...rest.map((p) => `also: [${p.kind}] ${p.message}`));
  } else {
    lines.push(`intact; head #${report.head.seq} ${report.head.hash ?? '-'} (record it outside the database to detect a later cut-off of newer entries)`);
  }
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = await main(process.argv.slice(2));
