/**
 * The rendition's pages built anew from the pages a reader sees (page-tree.ts): each page becomes an
 * upright page in points (UserUnit 1, no /Rotate, sane boxes) that draws one form XObject holding the
 * page's content with every state it leaves open closed (content-state.ts), its visible annotation
 * appearances flattened in, clipped to the area the marking leaves free. Only the page's resources are
 * copied, so nothing else of the upload (catalog entries, hidden objects, the page tree) comes along.
 */
import { deflateSync } from 'node:zlib';
import {
  PDFArray,
  PDFDict,
  PDFHexString,
  PDFName,
  PDFNumber,
  PDFObjectCopier,
  PDFRawStream,
  PDFRef,
  PDFStream,
  PDFString,
  type PDFContext,
  type PDFDocument,
  type PDFObject,
} from 'pdf-lib';
import { closedContent } from './content-state.ts';
import { decodeContent } from './decode.ts';
import { boxOf, matrixText, multiply, userToReader, type Matrix, type PageGeometry } from './geometry.ts';
import { markingBands, type Bands } from './marking.ts';
import type { SourcePage } from './page-tree.ts';

const N = (name: string) => PDFName.of(name);

/** `fit` (default): the page keeps its size, content scaled into the area the marking leaves free. `extend`: the page grows by the bands. */
export type MarkingLayout = 'fit' | 'extend';

/** The resource categories content may name (ISO 32000-1, 7.8.3); nothing else of a resource dictionary is copied. */
const resourceKeys = ['ExtGState', 'ColorSpace', 'Pattern', 'Shading', 'XObject', 'Font', 'Properties'];

/** Annotation flags that keep an annotation off screen: Hidden (2), NoView (32). */
const hiddenFlags = 2 | 32;

export interface PagePlan {
  widthPt: number;
  heightPt: number;
  bands: Bands;
  /** Maps reader space (the source page as seen, in points) onto the output page. */
  place: Matrix;
  /** The page draws content taken from an uploaded PDF's structure (not only an image placed here): the self-check renders it. */
  uploadedContent?: true;
}

/** Where a page of this reader-space size goes: its own size (fit) or grown by the bands (extend). */
export function planPage(widthPt: number, heightPt: number, layout: MarkingLayout): PagePlan {
  const bands = markingBands(widthPt, heightPt);
  if (layout === 'extend') {
    return { widthPt, heightPt: heightPt + bands.header + bands.footer, bands, place: [1, 0, 0, 1, 0, bands.footer] };
  }
  const s = (heightPt - bands.header - bands.footer) / heightPt;
  return { widthPt, heightPt, bands, place: [s, 0, 0, s, (widthPt - widthPt * s) / 2, bands.footer] };
}

export class PageRebuilder {
  private readonly copier: PDFObjectCopier;
  private annotations = 0;
  /** Objects of the output before this file: closed already, or drawn by us. */
  private readonly earlier: Set<string>;
  /** The page forms built here: closed when built. */
  private readonly built = new Set<PDFObject>();

  constructor(
    private readonly source: PDFContext,
    private readonly out: PDFDocument,
  ) {
    this.copier = PDFObjectCopier.for(source, out.context);
    this.earlier = new Set(out.context.enumerateIndirectObjects().map(([ref]) => ref.tag));
  }

  /** Closes the states of every form, glyph and pattern copied from this file; a reason when one cannot be decoded. */
  closeNested(): string | undefined {
    const context = this.out.context;
    const copied = context.enumerateIndirectObjects().filter(([ref, object]) => !this.earlier.has(ref.tag) && !this.built.has(object));
    return closeNestedContent(context, copied);
  }

  /** The page's content bytes, all its streams joined; undefined when one cannot be decoded here. */
  private content(page: SourcePage): Uint8Array | undefined {
    const contents = this.source.lookup(page.dict.get(N('Contents')));
    if (contents === undefined) return new Uint8Array(0);
    const items = contents instanceof PDFArray ? contents.asArray().map((item) => this.source.lookup(item)) : [contents];
    const parts: Uint8Array[] = [];
    for (const item of items) {
      if (!(item instanceof PDFRawStream)) return undefined;
      const decoded = decodeContent(item);
      if (decoded === undefined) return undefined;
      // Streams of one page are one content stream split at token boundaries (7.8.2).
      parts.push(decoded, Buffer.from('\n'));
    }
    return Buffer.concat(parts);
  }

  private resources(page: SourcePage): PDFDict {
    const copied = this.out.context.obj({});
    for (const key of resourceKeys) {
      const value = page.resources?.get(N(key));
      const resolved = this.source.lookup(value);
      // Copied as a fresh dictionary: flattened annotations add their names to it.
      if (resolved instanceof PDFDict) copied.set(N(key), this.out.context.obj(Object.fromEntries(resolved.entries().map(([k, v]) => [k.decodeText(), this.copier.copy(v)]))));
    }
    return copied;
  }

  /** The normal appearance of a visible annotation, or undefined. */
  private appearance(annotation: PDFDict): PDFRawStream | undefined {
    if (this.source.lookup(annotation.get(N('Subtype'))) === N('Link')) return undefined;
    const flags = this.source.lookup(annotation.get(N('F')));
    if (flags instanceof PDFNumber && (flags.asNumber() & hiddenFlags) !== 0) return undefined;
    if (this.source.lookup(annotation.get(N('Subtype'))) === N('Popup')) return undefined;
    const ap = this.source.lookup(annotation.get(N('AP')));
    const normal = ap instanceof PDFDict ? this.source.lookup(ap.get(N('N'))) : undefined;
    if (normal instanceof PDFRawStream) return normal;
    const state = this.source.lookup(annotation.get(N('AS')));
    const chosen = normal instanceof PDFDict && state instanceof PDFName ? this.source.lookup(normal.get(state)) : undefined;
    return chosen instanceof PDFRawStream ? chosen : undefined;
  }

  /** Operators drawing each visible annotation's appearance into its /Rect (ISO 32000-1, 12.5.5), names added to `xobjects`. */
  private flattenAnnotations(page: SourcePage, xobjects: PDFDict): string {
    const annots = this.source.lookup(page.dict.get(N('Annots')));
    if (!(annots instanceof PDFArray)) return '';
    let ops = '';
    for (const item of annots.asArray()) {
      const annotation = this.source.lookup(item);
      if (!(annotation instanceof PDFDict)) continue;
      const form = this.appearance(annotation);
      const rect = boxOf(this.source, annotation.get(N('Rect')));
      const bbox = form && boxOf(this.source, form.dict.get(N('BBox')));
      if (!form || !rect || !bbox) continue;
      const m = this.formMatrix(form);
      const corners = [[bbox.x1, bbox.y1], [bbox.x2, bbox.y1], [bbox.x1, bbox.y2], [bbox.x2, bbox.y2]].map(([x, y]) => [m[0] * x! + m[2] * y! + m[4], m[1] * x! + m[3] * y! + m[5]]);
      const [xs, ys] = [corners.map((c) => c[0]!), corners.map((c) => c[1]!)];
      const [tx, ty, tw, th] = [Math.min(...xs), Math.min(...ys), Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys)];
      if (!(tw > 0 && th > 0)) continue;
      const name = `VSCAnnot${this.annotations++}`;
      xobjects.set(N(name), this.copier.copy(this.source.getObjectRef(form) ?? form));
      const a: Matrix = [(rect.x2 - rect.x1) / tw, 0, 0, (rect.y2 - rect.y1) / th, rect.x1 - (tx * (rect.x2 - rect.x1)) / tw, rect.y1 - (ty * (rect.y2 - rect.y1)) / th];
      ops += `q ${matrixText(a)} cm /${name} Do Q\n`;
    }
    return ops;
  }

  private formMatrix(form: PDFStream): Matrix {
    const value = this.source.lookup(form.dict.get(N('Matrix')));
    const numbers = value instanceof PDFArray ? value.asArray().map((v) => this.source.lookup(v)) : [];
    return numbers.length === 6 && numbers.every((n) => n instanceof PDFNumber) ? (numbers.map((n) => (n as PDFNumber).asNumber()) as Matrix) : [1, 0, 0, 1, 0, 0];
  }

  /** Web and mail links (the sanitizer left only safe ones), as fresh link annotations over their place on the output page. */
  private links(page: SourcePage, placed: Matrix, area: { x: number; y: number; w: number; h: number }): PDFRef[] {
    const annots = this.source.lookup(page.dict.get(N('Annots')));
    if (!(annots instanceof PDFArray)) return [];
    const context = this.out.context;
    const refs: PDFRef[] = [];
    for (const item of annots.asArray()) {
      const annotation = this.source.lookup(item);
      if (!(annotation instanceof PDFDict) || this.source.lookup(annotation.get(N('Subtype'))) !== N('Link')) continue;
      const action = this.source.lookup(annotation.get(N('A')));
      const uri = action instanceof PDFDict && this.source.lookup(action.get(N('S'))) === N('URI') ? this.source.lookup(action.get(N('URI'))) : undefined;
      const rect = boxOf(this.source, annotation.get(N('Rect')));
      if (!uri || !rect || !(uri instanceof PDFString || uri instanceof PDFHexString)) continue;
      const corners = [[rect.x1, rect.y1], [rect.x2, rect.y2], [rect.x1, rect.y2], [rect.x2, rect.y1]].map(([x, y]) => [placed[0] * x! + placed[2] * y! + placed[4], placed[1] * x! + placed[3] * y! + placed[5]]);
      const [xs, ys] = [corners.map((c) => c[0]!), corners.map((c) => c[1]!)];
      // Kept inside the content area: a link never lies over the marking.
      const [x1, y1] = [Math.max(area.x, Math.min(...xs)), Math.max(area.y, Math.min(...ys))];
      const [x2, y2] = [Math.min(area.x + area.w, Math.max(...xs)), Math.min(area.y + area.h, Math.max(...ys))];
      if (!(x2 > x1 && y2 > y1)) continue;
      // PDF/A: printable (F 4), no border drawn; a link needs no appearance.
      const link = context.obj({ Type: 'Annot', Subtype: 'Link', Rect: [x1, y1, x2, y2], F: 4, Border: [0, 0, 0], A: { S: 'URI', URI: PDFString.of(uri.decodeText()) } });
      refs.push(context.register(link));
    }
    return refs;
  }

  /** Adds the rebuilt page to the output; undefined (the page must be rebuilt from pixels) when its content cannot be read here. */
  addPage(page: SourcePage, layout: MarkingLayout): PagePlan | undefined {
    const raw = this.content(page);
    const content = raw && closedContent(raw);
    if (content === undefined) return undefined;
    const context = this.out.context;
    const resources = this.resources(page);
    if (!resources.has(N('XObject'))) resources.set(N('XObject'), context.obj({}));
    const annotations = this.flattenAnnotations(page, resources.lookup(N('XObject'), PDFDict));
    const g: PageGeometry = page.geometry;
    const body = Buffer.concat([content, Buffer.from(annotations, 'latin1')]);
    const form = context.stream(deflateSync(body), {
      Type: 'XObject',
      Subtype: 'Form',
      BBox: [g.box.x1, g.box.y1, g.box.x2, g.box.y2],
      Resources: resources,
      Filter: 'FlateDecode',
    });
    const plan = planPage(g.widthPt, g.heightPt, layout);
    const placed = multiply(userToReader(g), plan.place);
    const out = this.out.addPage([plan.widthPt, plan.heightPt]);
    this.built.add(form);
    out.node.set(N('Resources'), context.obj({ XObject: { VSCPage: context.register(form) } }));
    const [x, y] = [plan.place[4], plan.place[5]];
    const [w, h] = [g.widthPt * plan.place[0], g.heightPt * plan.place[3]];
    // Clipped to where the content goes: nothing of it reaches the marking bands.
    const ops = `q ${x} ${y} ${w} ${h} re W n ${matrixText(placed)} cm /VSCPage Do Q\n`;
    out.node.set(N('Contents'), context.register(context.stream(ops)));
    const links = this.links(page, placed, { x, y, w, h });
    if (links.length > 0) out.node.set(N('Annots'), context.obj(links));
    return { ...plan, uploadedContent: true };
  }
}

/** Content streams among `objects`: forms, Type 3 glyphs, tiling patterns. */
function contentStreams(objects: Array<[PDFRef, PDFObject]>): PDFRef[] {
  const refs: PDFRef[] = [];
  for (const [ref, object] of objects) {
    const dict = object instanceof PDFStream ? object.dict : object instanceof PDFDict ? object : undefined;
    const subtype = dict?.get(N('Subtype'));
    const patternType = dict?.get(N('PatternType'));
    if (object instanceof PDFRawStream && (subtype === N('Form') || (patternType instanceof PDFNumber && patternType.asNumber() === 1))) refs.push(ref);
    const procs = subtype === N('Type3') ? dict!.lookup(N('CharProcs')) : undefined;
    if (procs instanceof PDFDict) procs.values().forEach((v: PDFObject) => v instanceof PDFRef && refs.push(v));
  }
  return refs;
}

/** Closes the states every form, glyph and pattern among `objects` leaves open; a reason when one cannot be decoded. */
function closeNestedContent(context: PDFContext, objects: Array<[PDFRef, PDFObject]>): string | undefined {
  for (const ref of new Set(contentStreams(objects))) {
    const stream = context.lookup(ref);
    if (!(stream instanceof PDFRawStream)) continue;
    const decoded = decodeContent(stream);
    if (decoded === undefined) return 'a content stream uses an encoding that cannot be decoded';
    const content = closedContent(decoded);
    if (content === undefined) return 'a form or glyph ends inside an inline image';
    const entries = new Map(stream.dict.entries());
    for (const key of ['Filter', 'DecodeParms', 'Length', 'DL']) entries.delete(N(key));
    const dict = Object.fromEntries([...entries].map(([k, v]) => [k.decodeText(), v]));
    context.assign(ref, context.stream(deflateSync(content), { ...dict, Filter: 'FlateDecode' }));
  }
  return undefined;
}
