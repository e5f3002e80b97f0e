/** Piscina task: runs in a worker thread. AppErrors cross the thread boundary as plain data. */
import type { MessagePort } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { isAppError, type ErrorCode, type Localized } from '../kernel/errors.ts';
import { createDeadline } from './budget.ts';
import { helperClient, type Pipe } from './helpers.ts';
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

/** Runs `step` with a Pipe whose processes the main thread runs; the task's port closes with it. */
async function withHelpers<T>(port: MessagePort, step: (pipe: Pipe) => Promise<T>): Promise<T> {
  try {
    return await step(helperClient(port));
  } finally {
    port.close();
  }
}

/** The result and its large bytes (the rendition, a page's pixels): the worker is done with them. */
async function run(task: Task): Promise<{ value: unknown; bytes: Uint8Array }> {
  if (task.kind === 'process') {
    const value = await processDocument(task.files, task.options);
    return { value, bytes: value.rendition };
  }
  if (task.kind === 'text-layer') {
    const value = await withHelpers(task.helpers, (pipe) => addTextLayer(task.pdf, { deadline: createDeadline(task.budgetMs), pipe }));
    return { value, bytes: value.pdf };
  }
  const value = await renderPdfPage(task.pdf, task.pageIndex, task.widthPx);
  return { value, bytes: value.pixels };
}

/** Moved, not copied, to the main thread when the bytes are all of their buffer; a view into a shared one is copied as before. */
function reply(value: unknown, bytes: Uint8Array): unknown {
  const ok: Reply<unknown> = { ok: true, value };
  const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
  return own ? move({ [transferableSymbol]: [bytes.buffer], [valueSymbol]: ok }) : ok;
}

export default async function (task: Task): Promise<unknown> {
  try {
    const { value, bytes } = await run(task);
    return reply(value, bytes);
  } catch (err) {
    if (isAppError(err)) return { ok: false, code: err.code, detail: err.texts ?? err.detail };
    throw err;
  }
}
