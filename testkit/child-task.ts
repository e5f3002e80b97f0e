/**
 * A measuring or load-making task in a process of its own, so its event loop and the parent's do not
 * delay each other: the parent forks a file that calls `serveTask`, waits until it is ready, and
 * later tells it to stop; the child finishes its round and sends its result back over IPC.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';

type ToChild = { stop: true };
type FromChild<R> = { ready: true } | { result: R };

export interface ChildTask<R> {
  /** Tells the task to stop and resolves with its result once the child has exited. */
  stop(): Promise<R>;
}

/** Forks `file` (a module calling `serveTask`) with `args`; resolves once its task runs. */
export async function startTask<R>(file: string, args: string[]): Promise<ChildTask<R>> {
  const child = fork(file, args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = once(child, 'exit');
  const next = () =>
    Promise.race([
      once(child, 'message').then(([message]) => message as FromChild<R>),
      exited.then(([code]) => {
        throw new Error(`${file} exited with ${code} before it answered`);
      }),
    ]);
  await next();
  return {
    async stop() {
      const answer = next();
      child.send({ stop: true } satisfies ToChild);
      const message = await answer;
      await exited;
      if (!('result' in message)) throw new Error(`${file} answered out of turn`);
      return message.result;
    },
  };
}

/**
 * The child's side: `prepare` sets up (before the parent's clock starts) and returns the task, which
 * runs while `going()` and resolves with the result to send back.
 */
export async function serveTask<R>(prepare: () => Promise<(going: () => boolean) => Promise<R>>): Promise<void> {
  const run = await prepare();
  let running = true;
  process.once('message', (message: ToChild) => {
    if (message.stop) running = false;
  });
  const result = run(() => running);
  process.send!({ ready: true } satisfies FromChild<R>);
  process.send!({ result: await result } satisfies FromChild<R>, () => process.disconnect());
}
