/** `npm run sweep`: one orphan sweep over the configured store, e.g. from cron or after an outage; prints the counts as JSON. */
import { composeStorage } from '../src/compose.ts';
import { ConfigError, loadConfig } from '../src/config.ts';
import { sweepOrphans } from '../src/maintenance/orphan-sweep.ts';

async function main(): Promise<void> {
  const config = loadConfig();
  const storage = await composeStorage(config);
  try {
    const report = await sweepOrphans({ ...storage, graceMs: config.sweep.orphanGraceMs });
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    await storage.metadata.close();
  }
}

main().catch((err: unknown) => {
  // Config errors name variables, never values: safe to print as they are.
  process.stderr.write(err instanceof ConfigError ? `${err.message}\n` : `sweep failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
