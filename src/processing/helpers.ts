/**
 * Helper processes (pdftoppm, tesseract) of a pool task are spawned by the main thread, not by the
 * worker thread that asks for them: a worker terminated mid-task (budget, pool closed) runs no code any
 * more, so only the main thread can kill its processes and reap them. The worker asks over a
 * MessagePort of its task; the main side kills what is still running when the task ends.
 */
import type { ChildProcess } from 'node:child_process';
import type { MessagePort } from 'node:worker_threads';
import { AppError, isAppError, type ErrorCode, type Localized } from '../kernel/errors.ts';
import { pipeThrough, type PipeLimits } from './pipe.ts';

/** Runs a helper process on a pipe (pipe.ts's contract): in the thread itself, or through the main thread. */
export type Pipe = (program: string, args: string[], input: Uint8Array, limits: PipeLimits) => Promise<Buffer>;

interface Request {
  id: number;
  program: string;
  args: string[];
  input: Uint8Array;
  limits: PipeLimits;
}

type Answer = { id: number; ok: true; output: Uint8Array } | { id: number; ok: false; code?: ErrorCode; detail?: Localized | string; message: string };

/** Main thread: runs the helper processes one task asks for; `close` kills (SIGKILL) those still running. */
export function serveHelpers(port: MessagePort): { close(): void } {
  const running = new Set<ChildProcess>();
  let closed = false;
  port.on('message', (request: Request) => {
    if (closed) return;
    const track = (child: ChildProcess) => {
      running.add(child);
      child.once('exit', () => running.delete(child));
    };
    pipeThrough(request.program, request.args, request.input, request.limits, track).then(
      (out) => {
        // A copy of its own, so handing its memory to the worker cannot detach a pooled buffer.
        const output = new Uint8Array(out);
        if (!closed) port.postMessage({ id: request.id, ok: true, output } satisfies Answer, [output.buffer]);
      },
      (err: unknown) => {
        const answer: Answer = isAppError(err)
          ? { id: request.id, ok: false, code: err.code, ...(err.texts ? { detail: err.texts } : { detail: err.message }), message: err.message }
          : { id: request.id, ok: false, message: err instanceof Error ? err.message : String(err) };
        if (!closed) port.postMessage(answer);
      },
    );
  });
  return {
    close() {
      closed = true;
      for (const child of running) child.kill('SIGKILL');
      port.close();
    },
  };
}

/** Worker thread: a Pipe whose processes the main thread runs (and kills with the task). */
export function helperClient(port: MessagePort): Pipe {
  const pending = new Map<number, { resolve(out: Buffer): void; reject(err: Error): void }>();
  let next = 0;
  port.on('message', (answer: Answer) => {
    const waiting = pending.get(answer.id);
    pending.delete(answer.id);
    if (!waiting) return;
    if (answer.ok) waiting.resolve(Buffer.from(answer.output.buffer, answer.output.byteOffset, answer.output.byteLength));
    else waiting.reject(answer.code ? new AppError(answer.code, { ...(answer.detail ? { detail: answer.detail } : {}) }) : new Error(answer.message));
  });
  return (program, args, input, limits) =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      port.postMessage({ id, program, args, input, limits } satisfies Request);
    });
}
