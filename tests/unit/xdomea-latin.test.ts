/**
 * Our String.Latin 1.1 check against the pattern of the official latinchars.xsd (read from the shared
 * schemas, never copied): the same verdict for every Unicode code point and for the combining sequences.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { firstNonLatin } from '../../src/xdomea/latin.ts';
import { schemeDir } from '../support/xdomea.ts';

/** The xs:pattern of String.Latin as a JavaScript regex (XSD patterns are anchored; the entities are decoded). */
function schemaPattern(): RegExp {
  const xsd = readFileSync(path.join(schemeDir(), 'xoev', 'latinchars', '1_1', 'datatypes', 'latinchars.xsd'), 'utf8');
  const value = /<xs:pattern value="([^"]+)"/.exec(xsd)?.[1];
  if (!value) throw new Error('latinchars.xsd has no pattern');
  const decoded = value.replace(/&#x([0-9A-Fa-f]+);/g, (_m, hex: string) => String.fromCodePoint(parseInt(hex, 16))).replace(/&#(\d+);/g, (_m, dec: string) => String.fromCodePoint(Number(dec)));
  // The pattern uses only syntax both dialects share: one class of ranges and a few alternatives.
  return new RegExp(`^(?:${decoded})$`, 'u');
}

describe('XÖV String.Latin 1.1', () => {
  const schema = schemaPattern();

  it('accepts and refuses every code point exactly as latinchars.xsd does', () => {
    const disagreements: string[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const ch = String.fromCodePoint(cp);
      if (schema.test(ch) !== (firstNonLatin(ch) === undefined)) disagreements.push(`U+${cp.toString(16).toUpperCase()}`);
    }
    expect(disagreements).toEqual([]);
  });

  it('allows the combining sequences the schema names, and no others', () => {
    for (const base of ['M', 'N', 'm', 'n', 'D', 'd', 'L', 'l', 'A', 'e']) {
      for (const mark of ['\u0302', '\u030C']) {
        const text = `a${base}${mark}b`;
        expect(firstNonLatin(text) === undefined, JSON.stringify(text)).toBe(schema.test(text));
      }
    }
  });

  it('names the first refused character, its position and a replacement where one is obvious', () => {
    expect(firstNonLatin('Anhörung & <Müller> "Straße" ẞ €')).toBeUndefined();
    expect(firstNonLatin('Anhörung – Bescheid')).toEqual({ char: '–', position: 9, suggestion: '-' });
    expect(firstNonLatin('AZ 😀')).toEqual({ char: '😀', position: 3 });
  });

  it('refuses configured sender and recipient names outside the set, naming the variable only', () => {
    expect(loadConfig({ XDOMEA_SENDER_INSTITUTION: 'Bezirksamt Süd', XDOMEA_RECIPIENT_UNIT: 'Registratur' }).xdomea).toEqual({
      sender: { institution: 'Bezirksamt Süd' },
      recipient: { unit: 'Registratur' },
    });
    let error: unknown;
    try {
      loadConfig({ XDOMEA_RECIPIENT_INSTITUTION: 'Амт „Nord“' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.join('\n')).toMatch(/^XDOMEA_RECIPIENT_INSTITUTION: .*String\.Latin/);
    expect((error as ConfigError).message).not.toContain('Амт');
  });
});
