import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  documentsCaptured: Counter<'outcome'>;
  processingDuration: Histogram;
}

/** A registry per app instance, so tests never share counters; `admission` is read at each scrape. */
export function createMetrics(admission: { inFlight: number; heldBytes: number }): Metrics {
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
  };
}
