/**
 * What an uploaded content stream leaves open when it ends, so isolation can close it before the
 * marking is drawn: graphics states (q/Q, and how many Q run ahead of their q), text objects (BT/ET),
 * marked-content sequences (BDC/BMC…EMC, which carry optional content: an unclosed `/OC … BDC` tied
 * to a hidden group hides everything after it in pdf.js and MuPDF), compatibility sections (BX/EX),
 * and lexical state (an unterminated string, hex string, array or dictionary would swallow whatever
 * follows). Hand-written: neither pdf-lib nor pdf.js exposes a content-stream tokenizer. Nothing inside
 * an array or dictionary executes (as in pdf.js). Where an inline image starts, its end is a guess
 * (viewers differ), so from there every operator-like token counts, as an upper bound.
 */

// PDF lexical classes (ISO 32000-1, 7.2.2): one table lookup per byte, the tokenizer reads every byte of every page.
const [REGULAR, WHITE, DELIMITER] = [0, 1, 2];
const lexicalClass = new Uint8Array(256);
[0x00, 0x09, 0x0a, 0x0c, 0x0d, 0x20].forEach((byte) => (lexicalClass[byte] = WHITE));
[0x28, 0x29, 0x3c, 0x3e, 0x5b, 0x5d, 0x7b, 0x7d, 0x2f, 0x25].forEach((byte) => (lexicalClass[byte] = DELIMITER));
const isRegular = (byte: number | undefined) => byte !== undefined && lexicalClass[byte] === REGULAR;

/** The operators that open or close a state, by their bytes. */
const tracked = new Map<string, keyof Counts>([
  ['q', 'q'],
  ['Q', 'Q'],
  ['BT', 'BT'],
  ['ET', 'ET'],
  ['BDC', 'BMC'],
  ['BMC', 'BMC'],
  ['EMC', 'EMC'],
  ['BX', 'BX'],
  ['EX', 'EX'],
]);

interface Counts {
  q: number;
  Q: number;
  BT: number;
  ET: number;
  BMC: number;
  EMC: number;
  BX: number;
  EX: number;
}

export interface Closing {
  /** `q` operators to put in front: how many `Q` run ahead of their `q` (at most). */
  saves: number;
  /** Bytes to append: ends any open lexical construct, then closes text, marked content, compatibility sections and graphics states. */
  suffix: string;
  /** Set when the content cannot be closed unambiguously (it ends inside an inline image's data): rebuild it from pixels. */
  unclosable?: string;
}

/** Every stand-alone occurrence of each tracked operator from `from` on, whatever lexical context it may be in. */
function countAny(content: Uint8Array, from: number): Counts {
  const counts: Counts = { q: 0, Q: 0, BT: 0, ET: 0, BMC: 0, EMC: 0, BX: 0, EX: 0 };
  let i = from;
  while (i < content.length) {
    if (!isRegular(content[i])) {
      i++;
      continue;
    }
    const start = i;
    while (isRegular(content[i])) i++;
    if (i - start > 3) continue;
    const key = tracked.get(Buffer.from(content.subarray(start, i)).toString('latin1'));
    if (key) counts[key]++;
  }
  return counts;
}

/** Whether a stand-alone `EI` follows `from` (the end of an inline image's data). */
function hasEndImage(content: Uint8Array, from: number): boolean {
  for (let i = content.indexOf(0x45, from); i !== -1; i = content.indexOf(0x45, i + 1)) {
    if (content[i + 1] === 0x49 && !isRegular(content[i - 1]) && !isRegular(content[i + 2])) return true;
  }
  return false;
}

/** Index after the literal string opening at `start`, and the nesting left open if it never closes. */
function skipString(content: Uint8Array, start: number): { end: number; open: number; escaped: boolean } {
  let depth = 0;
  for (let i = start; i < content.length; i++) {
    const c = content[i];
    if (c === 0x5c) {
      if (i + 1 >= content.length) return { end: content.length, open: depth, escaped: true };
      i++;
    } else if (c === 0x28) depth++;
    else if (c === 0x29 && --depth === 0) return { end: i + 1, open: 0, escaped: false };
  }
  return { end: content.length, open: depth, escaped: false };
}

function closers(text: boolean, marked: number, compat: number, depth: number): string {
  return `${text ? 'ET\n' : ''}${'EMC\n'.repeat(marked)}${'EX\n'.repeat(compat)}${'Q\n'.repeat(depth)}`;
}

/** How to close `content`: the saves it needs in front and what to append after it. */
export function closingFor(content: Uint8Array): Closing {
  const open: number[] = [];
  let [depth, lowest, text, marked, compat] = [0, 0, false, 0, 0];
  let i = 0;
  let lexicalEnd = '';
  while (i < content.length) {
    const c = content[i]!;
    const next = content[i + 1];
    if (lexicalClass[c] === WHITE) i++;
    else if (c === 0x25) {
      while (i < content.length && content[i] !== 0x0a && content[i] !== 0x0d) i++;
    } else if (c === 0x28) {
      const string = skipString(content, i);
      i = string.end;
      if (string.open > 0) lexicalEnd = `${string.escaped ? ' ' : ''}${')'.repeat(string.open)}`;
    } else if (c === 0x2f) for (i++; isRegular(content[i]); ) i++;
    else if ((c === 0x3c && next === 0x3c) || c === 0x5b) {
      open.push(c);
      i += c === 0x5b ? 1 : 2;
    } else if ((c === 0x3e && next === 0x3e && open.at(-1) === 0x3c) || (c === 0x5d && open.at(-1) === 0x5b)) {
      open.pop();
      i += c === 0x5d ? 1 : 2;
    } else if (c === 0x3c) {
      const end = content.indexOf(0x3e, i);
      if (end === -1) lexicalEnd = '>';
      i = end === -1 ? content.length : end + 1;
    } else if (!isRegular(c)) i++;
    else {
      const start = i;
      while (isRegular(content[i])) i++;
      if (open.length > 0 || i - start > 3) continue;
      const op = Buffer.from(content.subarray(start, i)).toString('latin1');
      if (op === 'BI') {
        // From here on only upper bounds are known.
        const rest = countAny(content, i);
        const saves = 0 - Math.min(lowest, depth - rest.Q);
        const suffix = `\n${closers(text || rest.BT > 0, marked + rest.BMC, compat + rest.BX, Math.max(0, depth + saves - rest.Q))}`;
        // Without an `EI` after it, the image swallows whatever follows, and readers disagree on where it ends.
        return hasEndImage(content, i) ? { saves, suffix } : { saves, suffix, unclosable: 'page content ends inside an inline image' };
      }
      const key = tracked.get(op);
      if (key === 'q') depth++;
      else if (key === 'Q') lowest = Math.min(lowest, --depth);
      else if (key === 'BT') text = true;
      else if (key === 'ET') text = false;
      else if (key === 'BMC') marked++;
      else if (key === 'EMC') marked = Math.max(0, marked - 1);
      else if (key === 'BX') compat++;
      else if (key === 'EX') compat = Math.max(0, compat - 1);
    }
  }
  const structures = open.reverse().map((c) => (c === 0x5b ? ']' : '>>')).join(' ');
  const saves = 0 - lowest;
  return { saves, suffix: `${lexicalEnd}${structures ? ` ${structures}` : ''}\n${closers(text, marked, compat, depth + saves)}` };
}

/** `content` with its saves in front and its states closed after it; undefined when it cannot be closed unambiguously. */
export function closedContent(content: Uint8Array): Buffer | undefined {
  const { saves, suffix, unclosable } = closingFor(content);
  if (unclosable) return undefined;
  return Buffer.concat([Buffer.from('q\n'.repeat(saves), 'latin1'), content, Buffer.from(`\n${suffix}`, 'latin1')]);
}
