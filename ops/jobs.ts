/** `npm run jobs`: the job queue's counts per kind and state on the configured database, as JSON (for operators and scripts). */
import { composeStorage } from '../src/compose.ts';
import { ConfigError, loadConfig } from '../src/config.ts';

async function main(): Promise<void> {
  const storage = await composeStorage(loadConfig());
  try {
    process.stdout.write(`${JSON.stringify({ jobs: await storage.metadata.jobs.counts() })}\n`);
  } finally {
    await storage.metadata.close();
  }
}

main().catch((err: unknown) => {
  // Config errors name variables, never values: safe to print as they are.
  process.stderr.write(err instanceof ConfigError ? `${err.message}\n` : `jobs failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
