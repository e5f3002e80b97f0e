import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.ts';
import { compose } from './compose.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './logger.ts';

/** Bootstrap: config → dependencies → app → listen; SIGTERM/SIGINT drain in-flight requests, then exit. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const { deps, close } = await compose(config, logger);
  const server = createApp(deps).listen(config.port, config.host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const base = config.publicUrl ?? `http://${config.host}:${port}`;
  logger.info({ port, storage: config.storage.backend, devMode: config.devMode }, 'listening');
  process.stdout.write(startBanner(base, config.devMode));

  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'draining');
    const force = setTimeout(() => server.closeAllConnections(), config.shutdownGraceMs).unref();
    server.close();
    server.closeIdleConnections();
    await once(server, 'close');
    clearTimeout(force);
    // Every request is answered by now; a failing worker shutdown must not turn a clean stop into a crash.
    await close().catch((err: unknown) => logger.warn({ err }, 'releasing workers failed'));
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', (s) => void shutdown(s));
  process.once('SIGINT', (s) => void shutdown(s));
}

function startBanner(base: string, devMode: boolean): string {
  const lines = [`VS-Capture listening on ${base}`, `  health:  ${base}/healthz   ready: ${base}/readyz`, `  API:     ${base}/openapi.yaml   reference: ${base}/docs`];
  if (devMode) lines.push(`  dev mode: get a token with POST ${base}/v1/dev/token (see README, "Try it")`);
  return `${lines.join('\n')}\n`;
}

main().catch((err: unknown) => {
  // Config errors name variables, never values: safe to print as they are.
  process.stderr.write(err instanceof ConfigError ? `${err.message}\n` : `start-up failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
