/**
 * A bounded helper process on a pipe: bytes in on stdin, bytes out on stdout, nothing on disk. Its
 * time (SIGKILL after the timeout), address space (`ulimit -v`) and output are bounded, its
 * environment holds only PATH and one thread for OpenMP.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { AppError } from '../kernel/errors.ts';

export interface PipeLimits {
  timeoutMs: number;
  memoryBytes: number;
  maxOutputBytes: number;
  /** For the refusal's detail: what the process was doing, in German and English. */
  step: { de: string; en: string };
}

/** Runs `program args…` with `input` on stdin; resolves with its stdout when it exits 0. `spawned` learns the process (to kill it with its task). */
export function pipeThrough(program: string, args: string[], input: Uint8Array, limits: PipeLimits, spawned?: (child: ChildProcess) => void): Promise<Buffer> {
  // "$@" passes the arguments untouched: nothing here is parsed by the shell but the limit.
  const script = 'ulimit -v "$1" && shift && exec "$@"';
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', script, 'sh', String(Math.floor(limits.memoryBytes / 1024)), program, ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', OMP_THREAD_LIMIT: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: limits.timeoutMs,
      killSignal: 'SIGKILL',
    });
    spawned?.(child);
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limits.maxOutputBytes) child.kill('SIGKILL');
      else chunks.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 2000) stderr += chunk.toString();
    });
    // A process that dies early closes stdin under us; its exit status says what happened.
    child.stdin.on('error', () => undefined);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) return resolve(Buffer.concat(chunks));
      const why = size > limits.maxOutputBytes ? { de: 'zu viel Ausgabe', en: 'too much output' } : signal ? { de: `durch ${signal} beendet`, en: `stopped by ${signal}` } : { de: `Status ${code}`, en: `exit ${code}` };
      const line = stderr.split('\n').find((l) => /error/i.test(l));
      const said = line ? `: ${line.trim()}` : '';
      reject(new AppError('unprocessable', { detail: { de: `${limits.step.de} ist gescheitert (${why.de})${said}.`, en: `${limits.step.en} failed (${why.en})${said}.` } }));
    });
    child.stdin.end(input);
  });
}
