/**
 * Denial-of-service attacks on a service process, over raw sockets so every byte and pause is the
 * attacker's: trickling bodies, headers that never end, and a /healthz watcher that runs alongside.
 * Shared by tests/dos/dos.test.ts (outcomes) and bench/dos.ts (latency under attack).
 */
import http from 'node:http';
import net from 'node:net';
import { METRICS_AUTH, type ServiceProcess } from './service-process.ts';

const MIB = 2 ** 20;

/** Small limits, so each attack reaches them quickly; the mechanisms are the production ones. */
export const DOS_ENV = {
  MAX_CONCURRENT_UPLOADS: '4',
  MAX_CONCURRENT_UPLOADS_PER_USER: '2',
  MIN_BODY_BYTES_PER_SECOND: '1024',
  BODY_RATE_WINDOW_SECONDS: '1',
  HEADERS_TIMEOUT_SECONDS: '2',
  MAX_FILE_BYTES: String(2 * MIB),
  MAX_REQUEST_BYTES: String(16 * MIB),
  MAX_BUFFERED_BYTES: String(16.5 * MIB),
  UPLOAD_CHUNK_BYTES: String(MIB),
};
/** What the attacker saw: a status with its problem code, type and detail, or the connection closed without an answer. */
export interface Answer {
  status: number | 'closed';
  code?: string;
  retryAfter?: string;
  contentType?: string;
  detail?: string;
}

/** Guards the test against a hang: no answer in this long is a failure, not a wait. */
export const HANG_GUARD_MS = 60_000;

export interface Trickle {
  /** Resolves with the server's answer (or 'closed'). */
  answer: Promise<Answer>;
  /** Drops the connection, as an attacker giving up does. */
  stop(): void;
}

export interface TrickleOptions {
  method?: string;
  path: string;
  headers: Record<string, string>;
  /** Announced Content-Length. */
  length: number;
  /** Sent at once after the headers. */
  head: Buffer;
  /** Then `bytesPerTick` bytes every `everyMs`, until the announced length or an answer. */
  bytesPerTick: number;
  everyMs: number;
}

/** A request whose body arrives at the attacker's pace. */
export function trickle(baseUrl: string, options: TrickleOptions): Trickle {
  const url = new URL(baseUrl);
  const req = http.request({
    host: url.hostname,
    port: url.port,
    method: options.method ?? 'POST',
    path: options.path,
    headers: { ...options.headers, 'content-length': String(options.length) },
  });
  let sent = 0;
  let timer: NodeJS.Timeout | undefined;
  const send = (bytes: Buffer) => {
    const room = options.length - sent;
    if (room <= 0) return;
    const chunk = bytes.subarray(0, room);
    sent += chunk.length;
    req.write(chunk);
  };
  const answer = new Promise<Answer>((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error(`no answer to ${options.method ?? 'POST'} ${options.path} within ${HANG_GUARD_MS} ms`)), HANG_GUARD_MS);
    const done = (value: Answer) => {
      clearTimeout(guard);
      clearInterval(timer);
      resolve(value);
    };
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', () => undefined);
      res.on('close', () => {
        req.destroy();
        done({ status: res.statusCode ?? 0, ...problemOf(Buffer.concat(chunks).toString('utf8'), res.headers['content-type']), ...(res.headers['retry-after'] ? { retryAfter: String(res.headers['retry-after']) } : {}) });
      });
    });
    req.on('error', () => done({ status: 'closed' }));
    req.on('close', () => setImmediate(() => done({ status: 'closed' })));
  });
  req.flushHeaders();
  send(options.head);
  timer = setInterval(() => send(Buffer.alloc(options.bytesPerTick, 0x61)), options.everyMs);
  return {
    answer,
    stop: () => {
      clearInterval(timer);
      req.destroy();
    },
  };
}

/** The problem fields an answer's body carries (a cut-off body may not be JSON at all). */
function problemOf(text: string, contentType: string | undefined): Pick<Answer, 'code' | 'detail' | 'contentType'> {
  let body: { code?: unknown; detail?: unknown } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // Not JSON: only the status counts.
  }
  return {
    ...(typeof body.code === 'string' ? { code: body.code } : {}),
    ...(typeof body.detail === 'string' ? { detail: body.detail } : {}),
    ...(contentType ? { contentType } : {}),
  };
}

/** What a client that keeps sending read off its socket, and how the connection ended. */
export interface ReadOffSocket extends Answer {
  /** The answer's Connection header. */
  connection?: string;
  /** After a `Connection: close` answer, how the server closed: a FIN ('end') or, once its bounds ran out, a reset ('reset'). */
  ended?: 'end' | 'reset';
}

/**
 * A request whose body is sent as fast as the socket takes it: all `length` announced bytes with
 * `complete`, else all but the last chunk, so that the body never ends and only the server can end
 * the exchange. Like a busy client it reads late: only once its writes stall or all is sent, so an
 * answer a reset overtook is lost, as it is under load. Reads the answer off the raw socket; after a
 * `Connection: close` answer it waits until the server has closed the connection, else it hangs up.
 * `startLine` replaces the request line built from method and path (e.g. one that is not HTTP).
 */
export function sendPastRefusal(
  baseUrl: string,
  options: { method?: string; path: string; headers: Record<string, string>; length: number; head: Buffer; complete?: boolean; startLine?: string },
): Promise<ReadOffSocket> {
  const url = new URL(baseUrl);
  const headers = Object.entries({ host: url.host, ...options.headers, 'content-length': String(options.length) }).map(([name, value]) => `${name}: ${value}\r\n`);
  const requestHead = `${options.startLine ?? `${options.method ?? 'POST'} ${options.path} HTTP/1.1`}\r\n${headers.join('')}\r\n`;
  const filler = Buffer.alloc(16 * 1024, 0x61);
  const last = options.complete ? options.length : options.length - 1;
  return exchange(baseUrl, options.path, (socket) => {
    let sent = options.head.length;
    const pump = () => {
      while (!socket.destroyed && sent < last) {
        const chunk = filler.subarray(0, Math.min(filler.length, last - sent));
        sent += chunk.length;
        if (!socket.write(chunk)) {
          socket.resume();
          return void socket.once('drain', pump);
        }
      }
      socket.resume();
    };
    socket.pause();
    socket.on('connect', () => {
      socket.write(requestHead);
      socket.write(options.head);
      pump();
    });
  });
}

/**
 * A request whose bytes keep coming at a steady pace, read as they are answered: `head` (request
 * line and headers, complete or not) at once, then `bytesPerTick` filler bytes every `everyMs` until
 * the connection closes. What a slow client that never stops looks like.
 */
export function sendSteadily(baseUrl: string, options: { head: string; bytesPerTick: number; everyMs: number }): Promise<ReadOffSocket> {
  const filler = Buffer.alloc(options.bytesPerTick, 0x61);
  return exchange(baseUrl, options.head.split('\r\n')[0]!, (socket) => {
    let timer: NodeJS.Timeout | undefined;
    socket.on('connect', () => {
      socket.write(options.head);
      timer = setInterval(() => {
        if (socket.writable) socket.write(filler);
      }, options.everyMs);
    });
    socket.on('close', () => clearInterval(timer));
  });
}

/** Writes `bytes` and half-closes (FIN) at once, then reads the answer as `exchange` does. */
export function sendAndHalfClose(baseUrl: string, bytes: string): Promise<ReadOffSocket> {
  return exchange(baseUrl, bytes.split('\r\n')[0]!, (socket) => socket.on('connect', () => socket.end(bytes)));
}

/**
 * Opens a raw connection, lets `send` write the request (from 'connect' on) and reads the answer:
 * after a `Connection: close` answer until the server closes the connection, whether by FIN or by
 * reset; after another answer it hangs up. Never an answer: 'closed'.
 */
function exchange(baseUrl: string, label: string, send: (socket: net.Socket) => void): Promise<ReadOffSocket> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname);
    const guard = setTimeout(() => reject(new Error(`${label}: no answer, or the server kept the connection open, for ${HANG_GUARD_MS} ms`)), HANG_GUARD_MS);
    let received = Buffer.alloc(0);
    let answer: ReadOffSocket | undefined;
    let ended: ReadOffSocket['ended'] = 'end';
    const finish = () => {
      clearTimeout(guard);
      resolve(answer ? { ...answer, ...(answer.connection === 'close' ? { ended } : {}) } : { status: 'closed' });
    };
    send(socket);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      answer ??= parseResponse(received);
      if (answer && answer.connection !== 'close') {
        socket.destroy();
        finish();
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') ended = 'reset';
    });
    socket.on('close', finish);
  });
}

/** A complete raw HTTP/1.1 response (Content-Length framed): status, content type, Connection and problem fields; undefined while incomplete. */
function parseResponse(raw: Buffer): ReadOffSocket | undefined {
  const split = raw.indexOf('\r\n\r\n');
  if (split < 0) return undefined;
  const head = raw.subarray(0, split).toString('latin1');
  const status = /^HTTP\/1\.1 (\d{3})/.exec(head)?.[1];
  const header = (name: string) => new RegExp(`^${name}: *(.+)$`, 'im').exec(head)?.[1]?.trim();
  const length = Number(header('content-length') ?? 0);
  if (!status || raw.length < split + 4 + length) return undefined;
  const connection = header('connection')?.toLowerCase();
  return { status: Number(status), ...problemOf(raw.subarray(split + 4, split + 4 + length).toString('utf8'), header('content-type')), ...(connection ? { connection } : {}) };
}

/** A multipart capture body's beginning: metadata, then the header of a file part whose bytes follow. */
export function captureHead(title = 'Langsam'): { contentType: string; head: Buffer } {
  const head =
    `--b\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n${JSON.stringify({ title })}\r\n` +
    `--b\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`;
  return { contentType: 'multipart/form-data; boundary=b', head: Buffer.from(head) };
}

/** A capture whose body trickles: `bytesPerSecond` below the service's minimum rate is an attack, above it a slow but legal client. */
export function slowCapture(baseUrl: string, token: string, options: { length: number; bytesPerSecond: number }): Trickle {
  const { contentType, head } = captureHead();
  const everyMs = 250;
  return trickle(baseUrl, {
    path: '/v1/documents',
    headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
    length: options.length,
    head,
    bytesPerTick: Math.max(1, Math.round((options.bytesPerSecond * everyMs) / 1000)),
    everyMs,
  });
}

export interface MetadataBomb {
  contentType: string;
  body: Uint8Array<ArrayBuffer>;
}

/** A capture body whose metadata is a file part of `bytes` nested arrays (`[[[…]]]`), then `file` as its photo: built once, sent as often as wanted. */
export function metadataBomb(file: Buffer, bytes = 10_000_000): MetadataBomb {
  const boundary = 'bomb-boundary';
  const part = (headers: string, content: Buffer) => [Buffer.from(`--${boundary}\r\n${headers}\r\n\r\n`), content, Buffer.from('\r\n')];
  const nested = Buffer.concat([Buffer.alloc(bytes / 2, '['), Buffer.alloc(bytes / 2, ']')]);
  const body = Buffer.concat([
    ...part('Content-Disposition: form-data; name="metadata"; filename="metadata.json"\r\nContent-Type: application/json', nested),
    ...part('Content-Disposition: form-data; name="file"; filename="a.jpg"\r\nContent-Type: image/jpeg', file),
    Buffer.from(`--${boundary}--\r\n`),
  ]);
  // A view, not a copy: fetch sends it as it is, however often.
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: new Uint8Array(body.buffer as ArrayBuffer, body.byteOffset, body.byteLength) };
}

/** Posts a prebuilt `metadataBomb` as a capture; resolves with the answer's status and problem code. */
export async function sendMetadataBomb(baseUrl: string, token: string, bomb: MetadataBomb): Promise<Answer> {
  const res = await fetch(`${baseUrl}/v1/documents`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': bomb.contentType }, body: bomb.body, signal: AbortSignal.timeout(HANG_GUARD_MS) });
  return { status: res.status, ...problemOf(await res.text(), res.headers.get('content-type') ?? undefined) };
}

/** Slowloris: a request line and headers that never end, one header byte every 200 ms. Resolves with the answer read off the socket, or 'closed'. */
export function endlessHeaders(baseUrl: string): Promise<ReadOffSocket> {
  const url = new URL(baseUrl);
  return sendSteadily(baseUrl, { head: `POST /v1/documents HTTP/1.1\r\nHost: ${url.host}\r\nX-Slow: `, bytesPerTick: 1, everyMs: 200 });
}

export interface HealthWatch {
  /** Stops after the current probe; latencies in ms of every answered probe, and what failed. */
  stop(): Promise<{ latenciesMs: number[]; failures: string[] }>;
}

/** Every /healthz answer time (ms) of a 200, and what failed, probing every `intervalMs` (0: back to back) while `going()`. */
export async function probeHealthz(baseUrl: string, going: () => boolean, intervalMs = 0): Promise<{ latenciesMs: number[]; failures: string[] }> {
  const latenciesMs: number[] = [];
  const failures: string[] = [];
  while (going()) {
    const started = performance.now();
    try {
      const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(HANG_GUARD_MS) });
      await res.arrayBuffer();
      if (res.status === 200) latenciesMs.push(performance.now() - started);
      else failures.push(`status ${res.status}`);
    } catch (err) {
      failures.push((err as Error).message);
    }
    // setImmediate at 0 still lets a stop (a message, a flag set elsewhere) in between probes.
    await new Promise((resolve) => (intervalMs > 0 ? setTimeout(resolve, intervalMs) : setImmediate(resolve)));
  }
  return { latenciesMs, failures };
}

/** Probes /healthz back to back, in this process, while an attack runs. */
export function watchHealth(baseUrl: string): HealthWatch {
  let running = true;
  const probes = probeHealthz(baseUrl, () => running);
  return {
    async stop() {
      running = false;
      return probes;
    },
  };
}

/** A gauge from /metrics, e.g. vsc_admission_in_flight (requests with a body admitted right now). */
export async function gauge(baseUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`, { headers: METRICS_AUTH })).text();
  const match = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  if (!match) throw new Error(`/metrics has no ${name}`);
  return Number(match[1]);
}

export const admittedNow = (baseUrl: string) => gauge(baseUrl, 'vsc_admission_in_flight');

/** Resolves once the service has admitted at least `count` requests with a body (polls its own gauge). */
export async function untilAdmitted(baseUrl: string, count: number): Promise<void> {
  const deadline = Date.now() + HANG_GUARD_MS;
  while ((await admittedNow(baseUrl)) < count) {
    if (Date.now() > deadline) throw new Error(`fewer than ${count} requests admitted within ${HANG_GUARD_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Runs `attack` with /healthz probed throughout; returns its result, the probes and the RSS growth (peak during minus before). */
export async function underAttack<T>(service: ServiceProcess, attack: () => Promise<T>): Promise<{ result: T; health: { latenciesMs: number[]; failures: string[] }; rssGrowthBytes: number }> {
  const before = await service.rss();
  const watch = watchHealth(service.url);
  const outcome = await attack().then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  const health = await watch.stop();
  if ('error' in outcome) throw outcome.error;
  return { result: outcome.value, health, rssGrowthBytes: (await service.peakRss()) - before };
}
