import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const REDOCLY = fileURLToPath(new URL('../../node_modules/@redocly/cli/bin/cli.js', import.meta.url));

interface LintReport {
  totals: { errors: number; warnings: number; ignored: number };
  problems: Array<{ ruleId: string; message: string; location: Array<{ pointer: string }> }>;
}

describe('openapi.yaml', () => {
  it("passes Redocly's recommended rules without errors or warnings (exceptions only in .redocly.lint-ignore.yaml)", async () => {
    // The CLI exits non-zero on errors only; the JSON report also counts warnings.
    const { stdout } = await promisify(execFile)(process.execPath, [REDOCLY, 'lint', 'openapi.yaml', '--format=json'], { cwd: ROOT }).catch(
      (err: { stdout: string }) => err,
    );
    const report = JSON.parse(stdout) as LintReport;
    const problems = report.problems.map((p) => `${p.ruleId} at ${p.location[0]?.pointer ?? '?'}: ${p.message}`);
    expect(problems).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });
});
