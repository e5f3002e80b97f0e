import { describe, expect, it } from 'vitest';
import { ByteCache } from '../../src/views/byte-cache.ts';

const bytes = (n: number) => new Uint8Array(n);

describe('ByteCache', () => {
  it('evicts the least recently used entries to stay within its byte bound', () => {
    const cache = new ByteCache(100);
    cache.set('a', bytes(40));
    cache.set('b', bytes(40));
    cache.get('a');
    cache.set('c', bytes(40));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.get('c')).toBeDefined();
    expect(cache.bytes).toBe(80);
  });

  it('keeps nothing larger than its bound, and nothing at all with bound 0', () => {
    const cache = new ByteCache(0);
    cache.set('a', bytes(1));
    expect(cache.get('a')).toBeUndefined();
    expect(cache.bytes).toBe(0);
  });

  it('shares one load among concurrent callers', async () => {
    const cache = new ByteCache(100);
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 10));
      return bytes(10);
    };
    const [x, y] = await Promise.all([cache.getOrLoad('k', load), cache.getOrLoad('k', load)]);
    expect(x).toBe(y);
    await cache.getOrLoad('k', load);
    expect(loads).toBe(1);
  });
});
