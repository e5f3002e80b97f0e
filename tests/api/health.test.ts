import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { StorageUnavailableError, type ObjectStore } from '../../src/storage/object-store.ts';
import { openapiAgent } from '../support/openapi.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

describe('health, readiness and metrics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('is live and ready on a fresh data directory', async () => {
    const api = openapiAgent(t.app);
    expect((await api.get('/healthz').expect(200)).body).toEqual({ status: 'ok' });
    expect((await api.get('/readyz').expect(200)).body).toEqual({ status: 'ready' });
  });

  it('reports 503 with Retry-After while the store is unreachable, and recovers', async () => {
    let down = true;
    const flaky: ObjectStore = {
      ...t.deps.store,
      ping: async () => {
        if (down) throw new StorageUnavailableError('connection refused');
      },
    };
    const api = openapiAgent(createApp({ ...t.deps, store: flaky }));
    const res = await api.get('/readyz').expect(503);
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expect(res.body.code).toBe('storage_unavailable');
    down = false;
    await api.get('/readyz').expect(200);
  });

  it('exposes Prometheus metrics with request durations by route template, never by raw path', async () => {
    const api = openapiAgent(t.app);
    await api.get('/healthz').expect(200);
    const text = (await api.get('/metrics').expect(200)).text;
    expect(text).toMatch(/vsc_http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\}/);
    expect(text).toMatch(/nodejs_eventloop_lag_p99_seconds/);
  });
});
