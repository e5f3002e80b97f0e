/**
 * `npm run audit:verify`: recomputes the audit trail's hash chains in the store the service is
 * configured with (same environment variables) and reports the first broken link.
 * Exit codes: 0 intact, 1 broken, 2 could not check (configuration, storage).
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { verifyAuditTrail, type AuditFinding, type AuditReport } from '../audit/verify.ts';
import { composeBlobStore } from '../compose.ts';
import { ConfigError, loadConfig } from '../config.ts';

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false } } });
  let report: AuditReport;
  try {
    const { store } = await composeBlobStore(loadConfig());
    report = await verifyAuditTrail(store);
  } catch (err) {
    // Config errors name variables, never values: safe to print as they are.
    process.stderr.write(err instanceof ConfigError ? `${err.message}\n` : `audit verification could not run: ${(err as Error).message}\n`);
    return 2;
  }
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : summary(report));
  return report.ok ? 0 : 1;
}

function summary(report: AuditReport): string {
  const lines = [
    `${report.entries} entries from ${report.writers} writer(s) about ${report.documents} document(s)`,
    ...report.notes.map((n) => `note: ${n.message}`),
  ];
  const [first] = report.problems;
  if (first) {
    lines.push(`BROKEN at ${where(first)}: ${first.message}`, ...report.problems.slice(1).map((p) => `also: ${p.message}`));
  } else {
    lines.push('intact; writer heads (record them outside the store to detect truncation later):');
    lines.push(...report.heads.map((h) => `  ${h.writer} #${h.seq} ${h.id} ${h.hash}`));
  }
  return `${lines.join('\n')}\n`;
}

function where(finding: AuditFinding): string {
  if (finding.entryId) return `entry ${finding.entryId}`;
  return `writer ${finding.writer} entry #${finding.seq}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = await main(process.argv.slice(2));
