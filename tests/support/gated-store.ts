import type { Readable } from 'node:stream';
import { StorageUnavailableError, type ByteRange, type ListOptions, type ObjectBody, type ObjectInfo, type ObjectStore } from '../../src/storage/object-store.ts';

interface Fault {
  op: 'put' | 'delete';
  match: (key: string) => boolean;
  hit: (key: string) => void;
}

interface Gate {
  match: (key: string) => boolean;
  reached: (key: string) => void;
  released: Promise<void>;
}

/** An ObjectStore that holds chosen puts until the test releases them, or fails them, to replay slow, racing or failing writes. */
export class GatedStore implements ObjectStore {
  private readonly gates: Gate[] = [];
  private readonly faults: Fault[] = [];

  constructor(private readonly inner: ObjectStore) {}

  /** The next put whose key matches waits for `release()`; `reached` resolves with its key once it waits. */
  hold(match: (key: string) => boolean): { reached: Promise<string>; release: () => void } {
    let release!: () => void;
    let reached!: (key: string) => void;
    const reachedPromise = new Promise<string>((resolve) => (reached = resolve));
    this.gates.push({ match, reached, released: new Promise<void>((resolve) => (release = resolve)) });
    return { reached: reachedPromise, release };
  }

  /** The next put (or delete) whose key matches fails as an unreachable store does; `hit` resolves with its key. */
  failNext(match: (key: string) => boolean, op: Fault['op'] = 'put'): { hit: Promise<string> } {
    let hit!: (key: string) => void;
    const hitPromise = new Promise<string>((resolve) => (hit = resolve));
    this.faults.push({ op, match, hit });
    return { hit: hitPromise };
  }

  private injectFault(op: Fault['op'], key: string): void {
    const fault = this.faults.findIndex((f) => f.op === op && f.match(key));
    if (fault < 0) return;
    this.faults.splice(fault, 1)[0]!.hit(key);
    throw new StorageUnavailableError(`injected fault at ${op} ${key}`);
  }

  async put(key: string, body: ObjectBody): Promise<void> {
    this.injectFault('put', key);
    const index = this.gates.findIndex((g) => g.match(key));
    if (index >= 0) {
      const [gate] = this.gates.splice(index, 1) as [Gate];
      gate.reached(key);
      await gate.released;
    }
    return this.inner.put(key, body);
  }

  get(key: string, range?: ByteRange): Promise<Readable> {
    return this.inner.get(key, range);
  }
  getBuffer(key: string): Promise<Buffer> {
    return this.inner.getBuffer(key);
  }
  head(key: string): Promise<ObjectInfo> {
    return this.inner.head(key);
  }
  list(options?: ListOptions): Promise<ObjectInfo[]> {
    return this.inner.list(options);
  }
  async delete(key: string): Promise<void> {
    this.injectFault('delete', key);
    return this.inner.delete(key);
  }
  ping(): Promise<void> {
    return this.inner.ping();
  }
}
