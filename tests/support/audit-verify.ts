/** `npm run audit:verify` as an operator runs it: a process of its own on a test app's data directory and database. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AuditReport } from '../../src/audit/verify.ts';
import type { TestApp } from '../../testkit/test-app.ts';

const VERIFY_CLI = fileURLToPath(new URL('../../ops/audit-verify.ts', import.meta.url));

export interface VerifyRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function runAuditVerify(t: Pick<TestApp, 'dataDir' | 'databaseUrl'>, args: string[] = []): Promise<VerifyRun> {
  const env = { ...process.env, NODE_ENV: 'test', DATA_DIR: t.dataDir, ...(t.databaseUrl ? { DATABASE_URL: t.databaseUrl } : {}) };
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', VERIFY_CLI, ...args], { env }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** The CLI's JSON report; fails when it could not run at all. */
export async function auditReport(t: Pick<TestApp, 'dataDir' | 'databaseUrl'>, args: string[] = []): Promise<AuditReport & { code: number }> {
  const run = await runAuditVerify(t, ['--json', ...args]);
  if (run.code === 2) throw new Error(`audit:verify could not run: ${run.stderr}`);
  return { ...(JSON.parse(run.stdout) as AuditReport), code: run.code };
}
