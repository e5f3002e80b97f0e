import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  documentsCaptured: Counter<'outcome'>;
  processingDuration: Histogram;
  protocolRefusals: Counter<'status' | 'reason'>;
}

/** What the job gauge reads at each scrape (the job queue in the metadata database). */
export interface JobCounts {
  counts(): Promise<Array<{ kind: string; state: string; count: number }>>;
}

/** A registry per app instance, so tests never share counters; `admission`, `jobs` and `lingering` are read at each scrape. */
export function createMetrics(admission: { inFlight: number; heldBytes: number }, jobs: JobCounts, lingering: { lingering: number }): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'vsc_admission_in_flight',
    help: 'Requests with a body admitted right now (captures, resumable uploads, small JSON bodies)',
    registers: [registry],
    collect() {
      this.set(admission.inFlight);
    },
  });
  new Gauge({
    name: 'vsc_admission_bytes',
    help: 'Bytes the admitted requests may hold right now (bodies and referenced uploads)',
    registers: [registry],
    collect() {
      this.set(admission.heldBytes);
    },
  });
  new Gauge({
    name: 'vsc_lingering_connections',
    help: 'Connections refused mid-body or by the HTTP parser that are closing: answered, still discarding what their client sends (at most 2 s and 64 KiB each)',
    registers: [registry],
    collect() {
      this.set(lingering.lingering);
    },
  });
  new Gauge({
    name: 'vsc_jobs',
    help: 'Background jobs in the queue by kind and state (queued, running, done, failed)',
    labelNames: ['kind', 'state'],
    registers: [registry],
    async collect() {
      // A database outage leaves the gauge empty for this scrape; /readyz reports the outage.
      const counts = await jobs.counts().catch(() => []);
      this.reset();
      for (const { kind, state, count } of counts) this.set({ kind, state }, count);
    },
  });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'vsc_http_request_duration_seconds',
      help: 'HTTP request duration by route template and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    documentsCaptured: new Counter({
      name: 'vsc_documents_captured_total',
      help: 'Capture requests by outcome',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    processingDuration: new Histogram({
      name: 'vsc_processing_duration_seconds',
      help: 'Time a capture spent in processing (worker pool: queue, transfer, sniff, convert, mark, save)',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120],
      registers: [registry],
    }),
    protocolRefusals: new Counter({
      name: 'vsc_http_protocol_refusals_total',
      help: "Requests refused by Node's HTTP layer, answered as problems: headers or request timeout (408), header section too large (431), unparseable (400)",
      labelNames: ['status', 'reason'],
      registers: [registry],
    }),
  };
}
