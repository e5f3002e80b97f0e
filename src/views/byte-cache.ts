/** An in-memory LRU bounded by the bytes it holds; plaintext never leaves the process. */
export class ByteCache {
  private readonly entries = new Map<string, Uint8Array>();
  private readonly pending = new Map<string, Promise<Uint8Array>>();
  private held = 0;

  /** `maxBytes` 0 turns caching off. */
  constructor(private readonly maxBytes: number) {}

  get(key: string): Uint8Array | undefined {
    const value = this.entries.get(key);
    if (value) {
      // Re-insert to mark as most recently used.
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: string, value: Uint8Array): void {
    if (value.byteLength > this.maxBytes) return;
    this.delete(key);
    this.entries.set(key, value);
    this.held += value.byteLength;
    for (const [oldest, old] of this.entries) {
      if (this.held <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.held -= old.byteLength;
    }
  }

  /** The cached value, or `load`'s; concurrent callers for one key share a single load. */
  async getOrLoad(key: string, load: () => Promise<Uint8Array>): Promise<Uint8Array> {
    const hit = this.get(key) ?? this.pending.get(key);
    if (hit) return hit;
    const loading = load().finally(() => this.pending.delete(key));
    this.pending.set(key, loading);
    const value = await loading;
    this.set(key, value);
    return value;
  }

  get bytes(): number {
    return this.held;
  }

  private delete(key: string): void {
    const old = this.entries.get(key);
    if (!old) return;
    this.entries.delete(key);
    this.held -= old.byteLength;
  }
}
