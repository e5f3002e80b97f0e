import http from 'node:http';
import https from 'node:https';
import { PassThrough, Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { Client } from 'minio';
import {
  assertValidKey,
  assertValidRange,
  bodySize,
  ObjectNotFoundError,
  StorageUnavailableError,
  type ByteRange,
  type ListOptions,
  type ObjectBody,
  type ObjectInfo,
  type ObjectStore,
} from './object-store.ts';

/** The service's S3 settings, plus how long a silent connection may hang before the request fails (default 10 s). */
/** Where the bucket is (the configuration's S3_* variables). */
export interface S3Config {
  endPoint: string;
  port: number;
  useSSL: boolean;
  region: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
}

export type S3StoreOptions = S3Config & { idleTimeoutMs?: number };

const DEFAULT_IDLE_TIMEOUT_MS = 10_000;
const DEFAULT_LIMIT = 1000;
/** S3's largest listing page. */
const MAX_KEYS = 1000;
const NOT_FOUND_CODES = new Set(['NoSuchKey', 'NotFound']);

/** Raw objects in one bucket of an S3-compatible server (AWS S3, MinIO, Ceph RGW) through the minio client. */
export class S3Store implements ObjectStore {
  readonly bucket: string;
  private readonly client: Client;
  private readonly region: string;

  constructor(options: S3StoreOptions) {
    this.bucket = options.bucket;
    this.region = options.region;
    this.client = new Client({
      endPoint: options.endPoint,
      port: options.port,
      useSSL: options.useSSL,
      region: options.region,
      accessKey: options.accessKey,
      secretKey: options.secretKey,
      // Path-style works everywhere, including gateways without wildcard DNS.
      pathStyle: true,
      transportAgent: failFastAgent(options.useSSL, options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS),
      // One quick retry for a 5xx blip; a down gateway must surface in seconds, not minutes.
      retryOptions: { maximumRetryCount: 1, baseDelayMs: 100, maximumDelayMs: 1000 },
    });
  }

  /** Creates the bucket if it does not exist yet; call once at start-up. */
  async ensureBucket(): Promise<void> {
    try {
      if (await this.client.bucketExists(this.bucket)) return;
      await this.client.makeBucket(this.bucket, this.region);
    } catch (err) {
      // Another instance creating it at the same moment is success too.
      if (errorCode(err) === 'BucketAlreadyOwnedByYou') return;
      throw translate(err, `create bucket ${this.bucket}`);
    }
  }

  async put(key: string, body: ObjectBody): Promise<void> {
    assertValidKey(key);
    // With the size known the client sends one PUT (multipart only past its part size).
    const source = body instanceof Uint8Array ? Buffer.from(body.buffer, body.byteOffset, body.byteLength) : Readable.from(body);
    await this.client.putObject(this.bucket, key, source, bodySize(body)).catch(rethrow(`put ${key}`, key));
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    assertValidKey(key);
    if (range) assertValidRange(range);
    const start = range?.start ?? 0;
    const end = range?.end;
    if (end !== undefined && end <= start) {
      await this.head(key);
      return Readable.from([]);
    }
    try {
      const length = end === undefined ? 0 : end - start;
      const body = start === 0 && length === 0
        ? await this.client.getObject(this.bucket, key)
        : await this.client.getPartialObject(this.bucket, key, start, length);
      return translatingErrors(body, key);
    } catch (err) {
      // 416: the object exists but the range starts at or past its end, which reads as empty.
      if (errorCode(err) === 'InvalidRange') return Readable.from([]);
      throw translate(err, `get ${key}`, key);
    }
  }

  async getBuffer(key: string): Promise<Buffer> {
    return buffer(await this.get(key));
  }

  async head(key: string): Promise<ObjectInfo> {
    assertValidKey(key);
    const stat = await this.client.statObject(this.bucket, key).catch(rethrow(`head ${key}`, key));
    return { key, size: stat.size };
  }

  async list(options: ListOptions = {}): Promise<ObjectInfo[]> {
    const { prefix = '', startAfter = '', limit = DEFAULT_LIMIT } = options;
    const found: ObjectInfo[] = [];
    let token = '';
    try {
      while (found.length < limit) {
        // Ask for no more than still needed, so a small page costs a small listing.
        const page = await this.client.listObjectsV2Query(this.bucket, prefix, token, '', Math.min(MAX_KEYS, limit - found.length), startAfter);
        for (const item of page.objects) if (item.name !== undefined) found.push({ key: item.name, size: item.size });
        if (!page.isTruncated) break;
        token = page.nextContinuationToken;
      }
    } catch (err) {
      throw translate(err, 'list objects');
    }
    return found.slice(0, limit);
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await this.client.removeObject(this.bucket, key).catch(rethrow(`delete ${key}`, key));
  }

  async ping(): Promise<void> {
    const exists = await this.client.bucketExists(this.bucket).catch(rethrow('reach the bucket'));
    if (!exists) throw new StorageUnavailableError(`S3 bucket ${this.bucket} does not exist`);
  }
}

/**
 * Keep-alive agent whose sockets are destroyed after `idleMs` of silence (connecting, sending or
 * waiting), since neither Node nor the minio client time out requests by themselves.
 */
function failFastAgent(useSSL: boolean, idleMs: number): http.Agent {
  const options = { keepAlive: true, timeout: idleMs };
  const agent = useSSL ? new https.Agent(options) : new http.Agent(options);
  const connect = agent.createConnection.bind(agent);
  agent.createConnection = (connectOptions, callback) => {
    const socket = connect(connectOptions, callback);
    socket?.on('timeout', () => socket.destroy(Object.assign(new Error(`no answer within ${idleMs} ms`), { code: 'ETIMEDOUT' })));
    return socket;
  };
  return agent;
}

/** Body errors (a gateway dying mid-download) reach the reader translated like request errors. */
function translatingErrors(body: Readable, key: string): Readable {
  // A large buffer, so the hop does not stall the body every 16 KiB (measured: ~20 ms per 10 MB).
  const out = new PassThrough({ highWaterMark: 1024 * 1024 });
  body.on('error', (err) => out.destroy(translate(err, `read ${key}`, key)));
  out.on('close', () => body.destroy());
  return body.pipe(out);
}

function errorCode(err: unknown): string | undefined {
  return (err as { code?: unknown } | undefined)?.code as string | undefined;
}

/** Not-found becomes ObjectNotFoundError; argument bugs pass through; everything else means the backend failed. */
function translate(err: unknown, action: string, key?: string): Error {
  if (key !== undefined && NOT_FOUND_CODES.has(errorCode(err) ?? '')) return new ObjectNotFoundError(key);
  if (err instanceof TypeError || err instanceof RangeError) return err;
  const reason = [errorCode(err), (err as Error).message].filter(Boolean).join(' ');
  return new StorageUnavailableError(`S3 could not ${action}: ${reason}`, { cause: err });
}

function rethrow(action: string, key?: string): (err: unknown) => never {
  return (err) => {
    throw translate(err, action, key);
  };
}
