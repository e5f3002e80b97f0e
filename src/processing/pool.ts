/**
 * The worker pool: CPU-heavy processing off the event loop, a bounded queue (busy when full) and a
 * hard time budget (the worker running an overdue task is terminated, not left busy).
 */
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
// Native addons must be loaded by the main thread before workers use them: else a worker's exit may unload them under the others.
import '@julusian/jpeg-turbo';
import 'sharp';
import { AppError } from '../kernel/errors.ts';
import { workerExecArgv } from '../kernel/worker-threads.ts';
import { serveHelpers } from './helpers.ts';
import type { RawPage } from './rasterize.ts';
import type { TextLayerResult } from './text-layer.ts';
import type { InputFile, ProcessOptions, ProcessResult } from './types.ts';
import type { MarkingLayout } from './rebuild.ts';
import type { Reply, Task } from './worker.ts';

export interface PoolOptions {
  /** Worker threads; default: the machine's parallelism. */
  threads?: number | undefined;
  /** Tasks waiting beyond the running ones; more are refused with `busy`. */
  maxQueue: number;
  /** Budget for one page render; default 30 s. */
  renderBudgetMs?: number;
  /** How PDF pages make room for the marking unless a task says otherwise (MARKING_LAYOUT); default `fit`. */
  markingLayout?: MarkingLayout;
}

export interface ProcessingPool {
  process(files: InputFile[], options: ProcessOptions): Promise<ProcessResult>;
  /** Rasterizes one page (0-based) `widthPx` wide, for the viewer. */
  renderPage(pdfBytes: Uint8Array, pageIndex: number, widthPx: number): Promise<RawPage>;
  /** The rendition with its invisible OCR text layer (text-layer.ts); for the job that runs after the 201. */
  addTextLayer(pdfBytes: Uint8Array, budgetMs: number): Promise<TextLayerResult>;
  close(): Promise<void>;
}

function busy(): AppError {
  return new AppError('busy', {
    detail: {
      de: 'Alle Dokumentverarbeiter sind belegt und die Warteschlange ist voll; versuchen Sie es in einigen Sekunden erneut.',
      en: 'All document processors are busy and the queue is full; retry in a few seconds.',
    },
    extra: { retryAfter: 5 },
  });
}

function overdue(budgetMs: number): AppError {
  return new AppError('processing_timeout', {
    detail: {
      de: `Die Verarbeitung hat ihr Zeitbudget von ${budgetMs} ms überschritten und wurde abgebrochen; teilen Sie das Dokument oder senden Sie weniger Seiten.`,
      en: `Processing exceeded its time budget of ${budgetMs} ms and was stopped; split the document or send fewer pages.`,
    },
  });
}

export function createProcessingPool(options: PoolOptions): ProcessingPool {
  // Every core processes: decryption, hashing and sealing run in the crypto pool (src/crypto/offload.ts), not on the event loop.
  const threads = options.threads ?? availableParallelism();
  const piscina = new Piscina({
    filename: new URL('./worker.ts', import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    execArgv: workerExecArgv(),
  });

  // Admission is counted here: piscina 5.3's own maxQueue let every task of a burst in (measured).
  const capacity = threads + options.maxQueue;
  let inFlight = 0;

  // The helper processes of every running task: killed with it, also when the pool closes.
  const served = new Set<{ close(): void }>();

  /** Runs a task with a helpers channel of its own (helpers.ts); `port` goes to the worker. */
  async function withHelpers<T>(run: (port: MessagePort) => Promise<T>): Promise<T> {
    const { port1, port2 } = new MessageChannel();
    const helpers = serveHelpers(port1);
    served.add(helpers);
    try {
      return await run(port2);
    } finally {
      // Cut off or done: nothing the task started outlives it.
      served.delete(helpers);
      helpers.close();
    }
  }

  async function submit<T>(task: Task, budgetMs: number, transferList: Transferable[] = []): Promise<T> {
    if (inFlight >= capacity) throw busy();
    inFlight++;
    // The budget counts from submission: the client waits through the queue too.
    const signal = AbortSignal.timeout(budgetMs);
    let reply: Reply<T>;
    try {
      reply = await piscina.run(task, { signal, transferList: transferList as never });
    } catch (err) {
      if (signal.aborted) throw overdue(budgetMs);
      throw err;
    } finally {
      inFlight--;
    }
    if (!reply.ok) throw new AppError(reply.code, { detail: reply.detail });
    return reply.value;
  }

  return {
    process: (files, processOptions) =>
      submit<ProcessResult>({ kind: 'process', files, options: { ...processOptions, marking: { layout: options.markingLayout ?? 'fit', ...processOptions.marking } } }, processOptions.limits.timeBudgetMs),
    renderPage: (pdf, pageIndex, widthPx) =>
      submit<RawPage>({ kind: 'render', pdf, pageIndex, widthPx }, options.renderBudgetMs ?? 30_000),
    addTextLayer: (pdf, budgetMs) => withHelpers((port) => submit<TextLayerResult>({ kind: 'text-layer', pdf, budgetMs, helpers: port }, budgetMs, [port])),
    async close() {
      for (const helpers of served) helpers.close();
      await piscina.destroy();
    },
  };
}
