import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { createApp, createMetricsApp, type AppDeps } from './app.ts';
import { serveWithProtocolRefusals } from './api/protocol-refusals.ts';
import { compose } from './compose.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { createLogger } from './kernel/logger.ts';

/** Bootstrap: config → dependencies → app → listen; SIGTERM/SIGINT drain in-flight requests, then exit. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const { deps, close } = await compose(config, logger);
  const server = withTimeouts(createApp(deps), config, deps).listen(config.port, config.host);
  await once(server, 'listening');
  const metricsServer = config.metrics.port === undefined ? undefined : withTimeouts(createMetricsApp(deps), config, deps).listen(config.metrics.port, config.metrics.host);
  if (metricsServer) await once(metricsServer, 'listening');
  const { port } = server.address() as AddressInfo;
  // The address this process listens on; PUBLIC_URL (a proxy in front) is named separately.
  const base = `http://${config.host}:${port}`;
  logger.info({ port, storage: config.storage.backend, devMode: config.devMode }, 'listening');
  const metricsUrl = metricsServer ? `http://${config.metrics.host}:${(metricsServer.address() as AddressInfo).port}/metrics` : undefined;
  process.stdout.write(startBanner(base, config.publicUrl, config.devMode, metricsUrl));

  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'draining');
    const force = setTimeout(() => server.closeAllConnections(), config.shutdownGraceMs).unref();
    server.close();
    server.closeIdleConnections();
    metricsServer?.close();
    metricsServer?.closeAllConnections();
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

/** Node's own bounds on slow clients: headers, the whole request, idle keep-alive; checked every second, not every 30 s. Its refusals are answered as problems. */
function withTimeouts(app: Express, config: Config, deps: Pick<AppDeps, 'lingering' | 'metrics'>): http.Server {
  const { headersMs, requestMs, keepAliveMs } = config.timeouts;
  const server = http.createServer({ headersTimeout: headersMs, requestTimeout: requestMs, keepAliveTimeout: keepAliveMs, connectionsCheckingInterval: 1000 });
  serveWithProtocolRefusals(server, app, { lingering: deps.lingering, refusals: deps.metrics.protocolRefusals, timeouts: config.timeouts });
  return server;
}

function startBanner(base: string, publicUrl: string | undefined, devMode: boolean, metricsUrl: string | undefined): string {
  const lines = [`VS-Capture listening on ${base}`, `  health:  ${base}/healthz   ready: ${base}/readyz`, `  API:     ${base}/openapi.yaml   reference: ${base}/docs`];
  if (publicUrl) lines.push(`  public:  ${publicUrl}`);
  if (metricsUrl) lines.push(`  metrics: ${metricsUrl}`);
  if (devMode) lines.push(`  dev mode: get a token with POST ${base}/v1/dev/token (see README, "Try it")`);
  return `${lines.join('\n')}\n`;
}

main().catch((err: unknown) => {
  // Config errors name variables, never values: safe to print as they are.
  process.stderr.write(err instanceof ConfigError ? `${err.message}\n` : `start-up failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
