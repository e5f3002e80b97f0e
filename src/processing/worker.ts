/** Piscina task: runs in a worker thread. AppErrors cross the thread boundary as plain data. */
import { isAppError, type ErrorCode, type Localized } from '../errors.ts';
import type { MessagePort } from 'node:worker_threads';
import { createDeadline } from './budget.ts';
import { helperClient } from './helpers.ts';
import { processDocument } from './index.ts';
import { addTextLayer } from './text-layer.ts';
import { renderPdfPage } from './rasterize.ts';
import type { InputFile, ProcessOptions } from './types.ts';

export type Task =
  | { kind: 'process'; files: InputFile[]; options: ProcessOptions }
  | { kind: 'render'; pdf: Uint8Array; pageIndex: number; widthPx: number }
  /** `helpers`: where this task's helper processes are run (the main thread, helpers.ts). */
  | { kind: 'text-layer'; pdf: Uint8Array; budgetMs: number; helpers: MessagePort };

export type Reply<T> = { ok: true; value: T } | { ok: false; code: ErrorCode; detail: string | Localized | undefined };

async function run(task: Task) {
  if (task.kind === 'process') return processDocument(task.files, task.options);
  if (task.kind === 'text-layer') {
    try {
      return await addTextLayer(task.pdf, { deadline: createDeadline(task.budgetMs), pipe: helperClient(task.helpers) });
    } finally {
      task.helpers.close();
    }
  }
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
