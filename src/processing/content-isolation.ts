/**
 * Keeps an uploaded PDF's content from reaching the VS-NfD marking drawn after it. Each page's content
 * becomes a form XObject clipped to the page's visible box (its own lexical scope: an open string or
 * inline image cannot swallow the marking), and every form or Type 3 glyph whose content restores
 * more graphics states than it saved gets that many saves in front. pdf.js lets a surplus `Q` inside a
 * form pop the states around it (measured: `Q Q Q 3 Tr` hid the marking), so balancing is what
 * guarantees the marking a clean graphics state in every viewer. Annotations reaching beyond the
 * visible box, where the marking bands go, are dropped: viewers draw annotations on top of everything.
 */
import { deflateSync, inflateSync } from 'node:zlib';
import {
  PDFArray,
  PDFDict,
  PDFName,
  PDFNumber,
  PDFRawStream,
  PDFRef,
  PDFStream,
  decodePDFRawStream,
  type PDFContext,
  type PDFDocument,
  type PDFObject,
  type PDFPage,
} from 'pdf-lib';
import { visibleBox } from './marking.ts';

const N = (name: string) => PDFName.of(name);

// PDF lexical classes (ISO 32000-1, 7.2.2): white-space and delimiter bytes; all others are regular.
// One table lookup per byte: the tokenizer reads every byte of every page, Set lookups made it a third of marking.
const [REGULAR, WHITE, DELIMITER] = [0, 1, 2];
const lexicalClass = new Uint8Array(256);
[0x00, 0x09, 0x0a, 0x0c, 0x0d, 0x20].forEach((byte) => (lexicalClass[byte] = WHITE));
[0x28, 0x29, 0x3c, 0x3e, 0x5b, 0x5d, 0x7b, 0x7d, 0x2f, 0x25].forEach((byte) => (lexicalClass[byte] = DELIMITER));
const isRegular = (byte: number | undefined) => byte !== undefined && lexicalClass[byte] === REGULAR;
const [q, Q, B, I] = [0x71, 0x51, 0x42, 0x49];

/** Index after the literal string opening at `start` (nested parentheses, backslash escapes). */
function skipString(content: Uint8Array, start: number): number {
  let depth = 0;
  for (let i = start; i < content.length; i++) {
    const c = content[i];
    if (c === 0x5c) i++;
    else if (c === 0x28) depth++;
    else if (c === 0x29 && --depth === 0) return i + 1;
  }
  return content.length;
}

/** Every stand-alone `Q` from `from` on, whatever lexical context it may be in: an upper bound on restores. */
function countAnyRestores(content: Uint8Array, from: number): number {
  let count = 0;
  for (let i = content.indexOf(Q, from); i !== -1; i = content.indexOf(Q, i + 1)) {
    if (!isRegular(content[i - 1]) && !isRegular(content[i + 1])) count++;
  }
  return count;
}

/**
 * How many `Q` run ahead of their `q` when `content` executes: the saves it needs in front. Hand-written
 * because neither pdf-lib nor pdf.js exposes a content-stream tokenizer. Mirrors pdf.js: nothing inside
 * an array or dictionary executes. Where an inline image starts its end is a guess (viewers differ), so
 * from there every `Q`-like token counts as a restore.
 */
export function surplusRestores(content: Uint8Array): number {
  const open: number[] = [];
  let depth = 0;
  let lowest = 0;
  let i = 0;
  while (i < content.length) {
    const c = content[i]!;
    const next = content[i + 1];
    if (lexicalClass[c] === WHITE) i++;
    else if (c === 0x25) while (i < content.length && content[i] !== 0x0a && content[i] !== 0x0d) i++;
    else if (c === 0x28) i = skipString(content, i);
    else if (c === 0x2f) for (i++; isRegular(content[i]); ) i++;
    else if ((c === 0x3c && next === 0x3c) || c === 0x5b) {
      open.push(c);
      i += c === 0x5b ? 1 : 2;
    } else if ((c === 0x3e && next === 0x3e && open.at(-1) === 0x3c) || (c === 0x5d && open.at(-1) === 0x5b)) {
      open.pop();
      i += c === 0x5d ? 1 : 2;
    } else if (c === 0x3c) i = content.indexOf(0x3e, i) + 1 || content.length;
    else if (!isRegular(c)) i++;
    else {
      const start = i;
      while (isRegular(content[i])) i++;
      if (open.length > 0) continue;
      const one = i - start === 1 ? c : undefined;
      if (one === q) depth++;
      if (one === Q) lowest = Math.min(lowest, --depth);
      if (i - start === 2 && c === B && content[start + 1] === I) return 0 - Math.min(lowest, depth - countAnyRestores(content, i));
    }
  }
  return 0 - lowest;
}

/** The decoded bytes, or undefined where pdf-lib cannot decode them faithfully (unknown filter, predictor). */
function decoded(stream: PDFRawStream): Uint8Array | undefined {
  const parms = stream.dict.lookup(N('DecodeParms'));
  const predictor = parms instanceof PDFDict ? parms.lookup(N('Predictor')) : undefined;
  if (parms instanceof PDFArray || (predictor instanceof PDFNumber && predictor.asNumber() > 1)) return undefined;
  try {
    return inflateNatively(stream) ?? decodePDFRawStream(stream).decode();
  } catch {
    return undefined;
  }
}

/** Plain /FlateDecode through zlib (pdf-lib's JavaScript inflater was a fifth of marking); anything zlib refuses goes to pdf-lib's tolerant decoder. */
function inflateNatively(stream: PDFRawStream): Uint8Array | undefined {
  if (stream.dict.lookup(N('Filter')) !== N('FlateDecode')) return undefined;
  try {
    return inflateSync(stream.contents);
  } catch {
    return undefined;
  }
}

function withSaves(context: PDFContext, dict: PDFDict, content: Uint8Array, saves: number): PDFRawStream {
  const entries = new Map(dict.entries());
  for (const key of ['Filter', 'DecodeParms', 'Length', 'DL']) entries.delete(N(key));
  const body = Buffer.concat([Buffer.from('q\n'.repeat(saves), 'latin1'), content]);
  return flateStream(context, body, Object.fromEntries([...entries].map(([k, v]) => [k.decodeText(), v])));
}

/** context.flateStream, deflated by zlib: pdf-lib's JavaScript deflater took a sixth of marking documents whose pages have several streams. */
function flateStream(context: PDFContext, contents: Uint8Array, dict: Record<string, PDFObject>): PDFRawStream {
  return context.stream(deflateSync(contents), { ...dict, Filter: 'FlateDecode' });
}

/** The page's content streams in order, or undefined when one is not a stream. */
function contentStreams(page: PDFPage): PDFRawStream[] | undefined {
  const contents = page.node.Contents();
  const items = contents instanceof PDFArray ? contents.asArray().map((item) => page.doc.context.lookup(item)) : [contents];
  return items.every((s) => s instanceof PDFRawStream) ? (items as PDFRawStream[]) : undefined;
}

type Box = ReturnType<typeof visibleBox>;

function rectInside(annotation: PDFObject, box: Box, context: PDFContext): boolean {
  const dict = context.lookup(annotation);
  const rect = dict instanceof PDFDict ? dict.lookup(N('Rect')) : undefined;
  const values = rect instanceof PDFArray ? rect.asArray().map((v) => context.lookup(v)) : [];
  if (values.length !== 4 || !values.every((v) => v instanceof PDFNumber)) return false;
  const [x1, y1, x2, y2] = values.map((v) => (v as PDFNumber).asNumber()) as [number, number, number, number];
  const slack = 1;
  return Math.min(x1, x2) >= box.x1 - slack && Math.max(x1, x2) <= box.x2 + slack && Math.min(y1, y2) >= box.y1 - slack && Math.max(y1, y2) <= box.y2 + slack;
}

/** Viewers draw annotations over the page, marking included: one reaching beyond the visible box could cover a band. */
function dropAnnotationsBeyond(page: PDFPage, box: Box): void {
  const annots = page.node.Annots();
  if (!annots) return;
  const kept = annots.asArray().filter((annotation) => rectInside(annotation, box, page.doc.context));
  if (kept.length < annots.size()) page.node.set(N('Annots'), page.doc.context.obj(kept));
}

/** Moves the page's content into a form XObject; the page then draws only that form (and later the marking). */
function isolatePage(page: PDFPage): string | undefined {
  const box = visibleBox(page);
  dropAnnotationsBeyond(page, box);
  if (page.node.Contents() === undefined) return undefined;
  const streams = contentStreams(page);
  if (!streams) return 'page content is not a stream';
  const context = page.doc.context;
  const formDict = context.obj({
    Type: 'XObject',
    Subtype: 'Form',
    BBox: [box.x1, box.y1, box.x2, box.y2],
    Resources: page.node.Resources() ?? context.obj({}),
  });
  let form: PDFRawStream;
  if (streams.length === 1) {
    // One stream keeps its encoding (no recompression); balancing below rewrites it only if needed.
    const [only] = streams as [PDFRawStream];
    for (const key of ['Filter', 'DecodeParms']) {
      const value = only.dict.get(N(key));
      if (value !== undefined) formDict.set(N(key), value);
    }
    form = PDFRawStream.of(formDict, only.contents);
  } else {
    // Streams of one page are one content stream split at token boundaries (7.8.2): join them.
    const parts = streams.map(decoded);
    if (parts.some((p) => p === undefined)) return 'page content uses an encoding that cannot be decoded';
    form = flateStream(context, Buffer.concat(parts.flatMap((p) => [p!, Buffer.from('\n')])), {});
    formDict.entries().forEach(([key, value]) => form.dict.set(key, value));
  }
  const formRef = context.register(form);
  // Own resources for the page: the marking's fonts and the form's name never enter the content's dictionary.
  page.node.set(N('Resources'), context.obj({ XObject: { Content: formRef } }));
  page.node.set(N('Contents'), context.register(context.stream('q /Content Do Q')));
  return undefined;
}

/** Form XObjects (page content, appearances, nested forms) and Type 3 glyph procedures: every content stream but the pages'. */
function contentObjects(context: PDFContext): PDFRef[] {
  const refs: PDFRef[] = [];
  for (const [ref, object] of context.enumerateIndirectObjects()) {
    const dict = object instanceof PDFStream ? object.dict : object instanceof PDFDict ? object : undefined;
    if (object instanceof PDFRawStream && dict?.get(N('Subtype'))?.toString() === '/Form') refs.push(ref);
    const procs = dict?.get(N('Subtype'))?.toString() === '/Type3' ? dict.lookup(N('CharProcs')) : undefined;
    if (procs instanceof PDFDict) procs.values().forEach((v: PDFObject) => v instanceof PDFRef && refs.push(v));
  }
  return refs;
}

/** Gives every content stream that restores more than it saved the saves it lacks. */
function balance(context: PDFContext): string | undefined {
  for (const ref of new Set(contentObjects(context))) {
    const stream = context.lookup(ref);
    if (!(stream instanceof PDFRawStream)) continue;
    const content = decoded(stream);
    if (content === undefined) return 'a content stream uses an encoding that cannot be decoded';
    const saves = surplusRestores(content);
    if (saves > 0) context.assign(ref, withSaves(context, stream.dict, content, saves));
  }
  return undefined;
}

/** Isolates every page's content; returns why it could not (then only rasterizing is safe), or undefined. */
export function isolateContent(doc: PDFDocument): string | undefined {
  for (const page of doc.getPages()) {
    const reason = isolatePage(page);
    if (reason) return reason;
  }
  return balance(doc.context);
}
