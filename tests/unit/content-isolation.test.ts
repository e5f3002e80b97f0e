import { describe, expect, it } from 'vitest';
import { surplusRestores } from '../../src/processing/content-isolation.ts';

const surplus = (content: string) => surplusRestores(Buffer.from(content, 'latin1'));

describe('surplusRestores: the saves a content stream lacks before its restores', () => {
  it.each([
    ['q Q', 0],
    ['Q', 1],
    ['Q Q q Q', 2],
    ['q q Q Q Q', 1],
    ['Qq QQ q\nQ', 0],
    ['/Q Q', 1],
    ['/q Q', 1],
    ['(q) Q', 1],
    ['(a \\) q) Q', 1],
    ['(unterminated Q Q', 0],
    ['<71> Q', 1],
    ['[q q] Q', 1],
    ['<< /K q /L [q] >> BDC Q', 1],
    ['[ >> q ] Q', 1],
    ['% q q\nQ', 1],
  ])('%j → %i', (content, expected) => {
    expect(surplus(content)).toBe(expected);
  });

  it('counts every Q-like token after an inline image starts, since viewers guess its end differently', () => {
    expect(surplus('q BI /W 1 /H 1 ID \x00 EI q q Q Q Q (Q) Q')).toBe(4);
  });
});
