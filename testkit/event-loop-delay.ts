import { METRICS_AUTH } from './service-process.ts';

/** A service's event-loop delay in ms, as its /metrics reports it. */
export interface EventLoopDelay {
  p50: number;
  p99: number;
  max: number;
}

/**
 * The service's event-loop delay since the previous scrape: prom-client's default metrics read a
 * perf_hooks.monitorEventLoopDelay histogram (10 ms resolution) and reset it at every scrape, so
 * scraping once before a phase and once after gives that phase's figures.
 */
export async function eventLoopDelaySinceLastScrape(baseUrl: string): Promise<EventLoopDelay> {
  const text = await (await fetch(`${baseUrl}/metrics`, { headers: METRICS_AUTH })).text();
  const ms = (name: string) => {
    const match = new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text);
    if (!match) throw new Error(`/metrics has no ${name}`);
    return Math.round(Number(match[1]) * 10_000) / 10;
  };
  return { p50: ms('nodejs_eventloop_lag_p50_seconds'), p99: ms('nodejs_eventloop_lag_p99_seconds'), max: ms('nodejs_eventloop_lag_max_seconds') };
}
