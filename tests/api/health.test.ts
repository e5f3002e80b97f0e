import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { StorageUnavailableError, type ObjectStore } from '../../src/storage/object-store.ts';
import { openapiAgent } from '../support/openapi.ts';
import { startTestApp, type TestApp } from '../../testkit/test-app.ts';
import { METRICS_AUTH, startService } from '../../testkit/service-process.ts';

const TOKEN = 'metrics-scrape-token-0123456789';

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

  it('serves no /metrics on the API listener unless a token is configured', async () => {
    await openapiAgent(t.app).get('/metrics').expect(404);
  });

  it('exposes Prometheus metrics behind METRICS_TOKEN, by route template and never by raw path', async () => {
    const secured = await startTestApp({ METRICS_TOKEN: TOKEN });
    try {
      const api = openapiAgent(secured.app);
      await api.get('/healthz').expect(200);
      // A job of a kind no worker here takes stays queued.
      const db = new pg.Client({ connectionString: secured.databaseUrl! });
      await db.connect();
      await db.query(`INSERT INTO jobs (kind, state, max_attempts, run_at, created_at, kek_id, sealed) VALUES ('test.metrics', 'queued', 1, now(), now(), 'k', '\\x00')`);
      await db.end();
      const refused = await api.get('/metrics').expect(401);
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      await api.get('/metrics').set('Authorization', `Bearer ${TOKEN}x`).expect(401);
      const text = (await api.get('/metrics').set('Authorization', `Bearer ${TOKEN}`).expect(200)).text;
      expect(text).toMatch(/vsc_http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\}/);
      expect(text).toMatch(/nodejs_eventloop_lag_p99_seconds/);
      expect(text).toMatch(/^vsc_admission_in_flight 0$/m);
      expect(text).toMatch(/^vsc_jobs\{kind="test.metrics",state="queued"\} 1$/m);
    } finally {
      await secured.close();
    }
  });

  it('serves /metrics on a listener of its own with METRICS_PORT, and not on the API listener', async () => {
    const service = await startService({ METRICS_PORT: '0' });
    try {
      expect((await fetch(`${service.url}/metrics`, { headers: METRICS_AUTH })).status).toBe(404);
      // The token, when set (as for every test service), holds on that listener too.
      expect((await fetch(service.metricsUrl!)).status).toBe(401);
      const res = await fetch(service.metricsUrl!, { headers: METRICS_AUTH });
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/vsc_admission_bytes/);
    } finally {
      await service.stop();
    }
  });

  it('sends HSTS only when the public URL is https', async () => {
    expect((await openapiAgent(t.app).get('/healthz').expect(200)).headers['strict-transport-security']).toBeUndefined();
    const https = await startTestApp({ PUBLIC_URL: 'https://capture.example' });
    try {
      const res = await openapiAgent(https.app).get('/healthz').expect(200);
      expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    } finally {
      await https.close();
    }
  });
});
