/** What every worker thread pool needs to start its TypeScript workers. */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/**
 * Workers load their .ts files through tsx's loader. Under `tsx src/main.ts` the flags are inherited
 * already; under vitest (or plain node) they are not, so add tsx's loader unless it is there.
 */
export function workerExecArgv(): string[] {
  const inherited = process.execArgv;
  if (inherited.some((arg) => arg.includes('tsx'))) return inherited;
  const loader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return [...inherited, '--import', loader];
}
