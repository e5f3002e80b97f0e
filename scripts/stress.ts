/**
 * Runs the test suite (or a part of it) several times under artificial CPU load and reports every
 * failure, to find tests that depend on the machine's speed. Each hog is a busy shell loop, like
 * `sh -c 'while :; do :; done'`, so the tests compete for the cores as they do on a shared CI machine.
 *
 *   npm run test:stress -- --runs 5 --hogs 2                      # the whole suite, 5 times
 *   npm run test:stress -- --runs 20 --hogs 2 tests/api/feed.test.ts  # one file, 20 times
 *   npm run test:stress -- --project load                         # one vitest project
 *
 * Exits 1 when any run had a failure; prints one line per run and every failing test at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

interface JsonReport {
  numPassedTests: number;
  numFailedTests: number;
  testResults: Array<{ name: string; status: string; message?: string; assertionResults: Array<{ fullName: string; status: string; failureMessages: string[] }> }>;
}

interface Failure {
  run: number;
  test: string;
  reason: string;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { runs: { type: 'string', default: '5' }, hogs: { type: 'string', default: '2' }, project: { type: 'string' } },
});
const runs = positiveInt('runs', values.runs);
const hogs = Array.from({ length: positiveInt('hogs', values.hogs, 0) }, startHog);
const stopHogs = () => hogs.forEach((hog) => hog.kill('SIGKILL'));
process.on('exit', stopHogs);
process.on('SIGINT', () => process.exit(130));

const dir = await mkdtemp(path.join(tmpdir(), 'vsc-stress-'));
const failures: Failure[] = [];
try {
  console.log(`stress: ${runs} run(s) of ${positionals.length ? positionals.join(' ') : values.project ? `project ${values.project}` : 'the whole suite'} with ${hogs.length} CPU hog(s)`);
  for (let run = 1; run <= runs; run++) {
    const started = Date.now();
    const report = await vitestRun(path.join(dir, `run-${run}.json`));
    const failed = failuresOf(report, run);
    failures.push(...failed);
    const minutes = ((Date.now() - started) / 60_000).toFixed(1);
    console.log(`run ${run}/${runs}: ${report.numPassedTests} passed, ${failed.length} failed, ${minutes} min, load average ${loadavg().map((l) => l.toFixed(1)).join(' / ')}`);
  }
} finally {
  stopHogs();
  await rm(dir, { recursive: true, force: true });
}
console.log(failures.length ? `\n${failures.length} failure(s):` : `\nno failure in ${runs} run(s)`);
for (const f of failures) console.log(`- run ${f.run}: ${f.test}\n    ${f.reason}`);
process.exitCode = failures.length ? 1 : 0;

function startHog(): ChildProcess {
  return spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
}

/** One vitest run with a JSON report; its own output goes to stderr so a long run shows progress. */
async function vitestRun(outputFile: string): Promise<JsonReport> {
  const args = ['vitest', 'run', '--reporter=dot', '--reporter=json', `--outputFile.json=${outputFile}`];
  if (values.project) args.push('--project', values.project);
  const child = spawn('npx', [...args, ...positionals], { stdio: ['ignore', process.stderr, process.stderr] });
  await new Promise((resolve) => child.on('close', resolve));
  try {
    return JSON.parse(await readFile(outputFile, 'utf8')) as JsonReport;
  } catch {
    // No report at all (e.g. the global setup failed): counts as one failure of the run.
    return { numPassedTests: 0, numFailedTests: 1, testResults: [{ name: 'vitest', status: 'failed', message: `exit code ${child.exitCode}, no report`, assertionResults: [] }] };
  }
}

function failuresOf(report: JsonReport, run: number): Failure[] {
  return report.testResults.flatMap((file) => {
    const tests = file.assertionResults.filter((t) => t.status === 'failed').map((t) => ({ run, test: `${path.relative(process.cwd(), file.name)} › ${t.fullName}`, reason: firstLine(t.failureMessages[0]) }));
    // A file that failed outside its tests (a hook, an import) has a message and no failed test.
    return tests.length || file.status !== 'failed' ? tests : [{ run, test: path.relative(process.cwd(), file.name), reason: firstLine(file.message) }];
  });
}

function firstLine(text: string | undefined): string {
  return (text ?? 'no message').split('\n').find((l) => l.trim()) ?? 'no message';
}

function positiveInt(name: string, raw: string | undefined, min = 1): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be an integer of at least ${min}, got ${raw}`);
  return value;
}
