/**
 * XÖV "Lateinische Zeichen in Unicode" 1.1 (type String.Latin, xoev/latinchars/1_1): the characters
 * XÖV messages may carry. The pattern is transcribed from latinchars.xsd; tests/unit/xdomea-latin
 * compares it code point by code point with the schema's own pattern.
 */
const SINGLE =
  '\\t\\n\\r -~¡-¬®-ćĊ-ěĞ-ģĦ-ıĴ-śŞ-ūŮ-žƏƠ-ơƯ-ưƷǍ-ǔǞ-ǟǤ-ǰǴ-ǵǺ-ǿȘ-țȞ-ȟȪ-ȫȮ-ȳəʒḂ-ḃḊ-ḋḐ-ḑḞ-ḡḤ-ḧḰ-ḱṀ-ṁṄ-ṅṖ-ṗṠ-ṣṪ-ṫẀ-ẅẌ-ẓẞẠ-ầẪ-ẬẮ-ềỄ-ồỖ-ờỤ-ỹ€';
/** Letters with a combining circumflex or caron that have no precomposed form. */
const SEQUENCES = ['M\u0302', 'N\u0302', 'm\u0302', 'n\u0302', 'D\u0302', 'd\u0302', 'J\u030C', 'L\u0302', 'l\u0302'];
const LEADING = new RegExp(`^(?:${SEQUENCES.join('|')}|[${SINGLE}])`, 'u');

/** Typographic characters outside the set and what to write instead (only a hint: nothing is replaced silently). */
const SUGGESTIONS: Record<string, string> = {
  '\u2013': '-',
  '\u2014': '-',
  '\u201E': '"',
  '\u201C': '"',
  '\u201D': '"',
  '\u201A': "'",
  '\u2018': "'",
  '\u2019': "'",
  '\u2026': '...',
  '\u00AD': '',
};

export interface NonLatin {
  /** The offending character (or the first code point of an unsupported sequence). */
  char: string;
  /** 0-based position in code points. */
  position: number;
  suggestion?: string;
}

/** The first character of `text` outside String.Latin 1.1, or undefined when all of it is allowed. */
export function firstNonLatin(text: string): NonLatin | undefined {
  let rest = text;
  let position = 0;
  while (rest.length > 0) {
    const match = LEADING.exec(rest);
    if (!match) {
      const char = String.fromCodePoint(rest.codePointAt(0)!);
      const suggestion = SUGGESTIONS[char];
      return { char, position, ...(suggestion !== undefined ? { suggestion } : {}) };
    }
    rest = rest.slice(match[0].length);
    position += [...match[0]].length;
  }
  return undefined;
}

/** `'–' (U+2013)`: readable even when the character itself does not display. */
export function describeChar(char: string): string {
  const hex = char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
  return `'${char}' (U+${hex})`;
}
