import { describe, expect, it } from 'vitest';
import { closingFor } from '../../src/processing/content-state.ts';

const closing = (content: string) => closingFor(Buffer.from(content, 'latin1'));
const saves = (content: string) => closing(content).saves;
/** The operators appended after the content, without the lexical terminators in front of them. */
const closers = (content: string) => closing(content).suffix.trim().split(/\s+/).filter((op) => /^[A-Z]+$/.test(op));

describe('closingFor: the saves a content stream lacks before its restores', () => {
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
    expect(saves(content)).toBe(expected);
  });

  it('counts every Q-like token after an inline image starts, since viewers guess its end differently', () => {
    expect(saves('q BI /W 1 /H 1 ID \x00 EI q q Q Q Q (Q) Q')).toBe(4);
  });
});

describe('closingFor: every state left open is closed after the content', () => {
  it.each([
    ['q q', ['Q', 'Q']],
    ['BT /F1 1 Tf 7 Tr (x) Tj', ['ET']],
    ['/OC /MC0 BDC 0 0 m', ['EMC']],
    ['/Span BMC /OC /MC0 BDC EMC', ['EMC']],
    ['BX foo', ['EX']],
    ['q /OC /MC0 BDC BT BX', ['ET', 'EMC', 'EX', 'Q']],
    ['q BT ET EMC EMC Q', []],
    ['(BT) [/BDC] << /K BX >>', []],
  ])('%j → %j', (content, expected) => {
    expect(closers(content)).toEqual(expected);
  });

  it('ends an unterminated string, hex string, array or dictionary before closing', () => {
    expect(closing('BT (open ( nested').suffix).toMatch(/^\){2}\nET\n$/);
    expect(closing('BT (ends in a backslash \\').suffix).toMatch(/^ \)\nET\n$/);
    expect(closing('BT <414').suffix).toMatch(/^>\nET\n$/);
    expect(closing('BT [ (a) << /K').suffix).toMatch(/^ >> \]\nET\n$/);
  });

  it('after an inline image, closes what may be open (upper bounds, never more Q than saved)', () => {
    expect(closers('q BI /W 1 /H 1 ID \x00 EI BT /OC /MC0 BDC')).toEqual(['ET', 'EMC', 'Q']);
    expect(closing('q BI /W 1 /H 1 ID \x00 EI BT').unclosable).toBeUndefined();
  });

  it('calls content ending inside an inline image unclosable: readers disagree where its data ends', () => {
    expect(closing('q BI /W 8 /H 8 /CS /G /BPC 8 ID \x00\x01').unclosable).toMatch(/inline image/);
  });
});
