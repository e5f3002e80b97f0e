/** Piscina task: runs in a worker thread. AppErrors cross the thread boundary as plain data. */
import { isAppError, type ErrorCode, type Localized } from '../kernel/errors.ts';
import type { MessagePort } from 'node:worker_threads';
import { createDeadline } from './budget.ts';
import { helperClient, type Pipe } from './helpers.ts';
import { processDocument } from './index.ts';
import { addTextLayer } from './text-layer.ts';
import { renderPdfPage } from './rasterize.ts';
import type { InputFile, ProcessOptions } from './types.ts';

export type Task =
  /** `helpers`: where this task's helper processes are run (the main thread, helpers.ts). */
  | { kind: 'process'; files: InputFile[]; options: Omit<ProcessOptions, 'pipe'>; helpers: MessagePort }
  | { kind: 'render'; pdf: Uint8Array; pageIndex: number; widthPx: number }
  | { kind: 'text-layer'; pdf: Uint8Array; budgetMs: number; helpers: MessagePort };

export type Reply<T> = { ok: true; value: T } | { ok: false; code: ErrorCode; detail: string | Localized | undefined };

/** Runs `step` with a Pipe whose processes the main thread runs; the task's port closes with it. */
async function withHelpers<T>(port: MessagePort, step: (pipe: Pipe) => Promise<T>): Promise<T> {
  try {
    return await step(helperClient(port));
  } finally {
    port.close();
  }
}

async function run(task: Task) {
  if (task.kind === 'process') return withHelpers(task.helpers, (pipe) => processDocument(task.files, { ...task.options, pipe }));
  if (task.kind === 'text-layer') return withHelpers(task.helpers, (pipe) => addTextLayer(task.pdf, { deadline: createDeadline(task.budgetMs), pipe }));
  return renderPdfPage(task.pdf, task.pageIndex, task.widthPx);
}

export default async function (task: Task): Promise<Reply<unknown>> {
  try {
    return { ok: true, value: await run(task) };
  } catch (err) {
    if (isAppError(err)) return { ok: false, code: err.code, detail: err.texts ?? err.detail };
    throw err;
  }
}
