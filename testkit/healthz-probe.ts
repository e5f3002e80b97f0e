/**
 * A /healthz probe in a process of its own (testkit/child-task.ts), so the load or attack clients'
 * event loop does not add to what it measures: `watchHealthApart` forks this file.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { serveTask, startTask } from './child-task.ts';
import { probeHealthz, type HealthWatch } from './dos-attacks.ts';

/** Probes GET `baseUrl`/healthz every `intervalMs` (0: back to back) in a child process; resolves once it probes. */
export function watchHealthApart(baseUrl: string, intervalMs: number): Promise<HealthWatch> {
  return startTask(fileURLToPath(import.meta.url), [baseUrl, String(intervalMs)]);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [baseUrl, intervalMs] = process.argv.slice(2);
  await serveTask(async () => (going) => probeHealthz(baseUrl!, going, Number(intervalMs)));
}
