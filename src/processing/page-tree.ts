/**
 * The pages a reader sees, enumerated from the parsed objects as pdf.js, MuPDF and poppler do, not as
 * pdf-lib does (it counts only literal `/Type /Page`): a kid with `/Kids` is a node unless it says
 * `/Type /Page`, anything else that is a dictionary is a page, `/Type` may be indirect or missing,
 * `/Count` is never trusted, a page listed twice is shown twice, Resources/MediaBox/CropBox/Rotate
 * are inherited from the nearest ancestor, and a loop in the tree is reported, never followed.
 */
import { PDFArray, PDFDict, PDFName, PDFNumber, PDFRef, PDFStream, type PDFContext, type PDFObject } from 'pdf-lib';
import { AppError } from '../kernel/errors.ts';
import { assertPageLimit } from './budget.ts';
import { pageGeometry, type PageGeometry } from './geometry.ts';

const N = (name: string) => PDFName.of(name);

export interface SourcePage {
  dict: PDFDict;
  resources: PDFDict | undefined;
  geometry: PageGeometry;
}

export interface PageTree {
  pages: SourcePage[];
  /** What differed from a well-formed tree (for the transfer note); empty when nothing did. */
  repairs: string[];
}

type Inherited = Partial<Record<'Resources' | 'MediaBox' | 'CropBox' | 'Rotate', PDFObject>>;
const inheritable = ['Resources', 'MediaBox', 'CropBox', 'Rotate'] as const;

function resolve(context: PDFContext, value: PDFObject | undefined): PDFObject | undefined {
  // A chain of references (1 0 R → 2 0 R → …) is followed a few steps only: a loop of them resolves to nothing.
  for (let i = 0; i < 8 && value instanceof PDFRef; i++) value = context.lookup(value);
  return value instanceof PDFRef ? undefined : value;
}

function dictOf(context: PDFContext, value: PDFObject | undefined): PDFDict | undefined {
  const resolved = resolve(context, value);
  if (resolved instanceof PDFStream) return undefined;
  return resolved instanceof PDFDict ? resolved : undefined;
}

function typeOf(context: PDFContext, dict: PDFDict): string | undefined {
  const type = resolve(context, dict.get(N('Type')));
  return type instanceof PDFName ? type.decodeText() : undefined;
}

/** Walks the tree under the catalog's /Pages; throws unprocessable for a loop, page_limit_exceeded past `maxPages`. */
export function readerPages(context: PDFContext, maxPages: number): PageTree {
  const repairs = new Set<string>();
  const catalog = dictOf(context, context.trailerInfo.Root);
  const root = catalog && dictOf(context, catalog.get(N('Pages')));
  if (!root) return { pages: [], repairs: [] };
  const pages: SourcePage[] = [];
  const onPath = new Set<PDFDict>();
  const seenPages = new Set<PDFDict>();
  const visit = (node: PDFDict, inherited: Inherited, depth: number): void => {
    if (onPath.has(node)) {
      throw new AppError('unprocessable', {
        detail: { de: 'Der Seitenbaum des PDF enthält sich selbst (eine Schleife); exportieren oder scannen Sie das Dokument erneut.', en: 'The PDF page tree contains itself (a loop); export or scan the document again.' },
      });
    }
    if (depth > 64) throw new AppError('unprocessable', {
        detail: { de: 'Der Seitenbaum des PDF ist tiefer als 64 Ebenen verschachtelt; exportieren oder scannen Sie das Dokument erneut.', en: 'The PDF page tree is nested deeper than 64 levels; export or scan the document again.' },
      });
    const here: Inherited = { ...inherited };
    for (const key of inheritable) if (node.has(N(key))) here[key] = node.get(N(key));
    const kids = resolve(context, node.get(N('Kids')));
    const isNode = kids instanceof PDFArray && typeOf(context, node) !== 'Page';
    if (!isNode) {
      if (seenPages.has(node)) repairs.add('a page listed more than once in the page tree is shown once per listing');
      seenPages.add(node);
      if (typeOf(context, node) !== 'Page') repairs.add('pages without /Type /Page counted as readers show them');
      pages.push({ dict: node, resources: dictOf(context, here.Resources), geometry: pageGeometry(context, here, node) });
      assertPageLimit(pages.length, maxPages);
      return;
    }
    if (typeOf(context, node) !== 'Pages') repairs.add('page tree nodes without /Type /Pages read as readers do');
    onPath.add(node);
    const before = pages.length;
    for (const kid of kids.asArray()) {
      const child = dictOf(context, kid);
      if (child) visit(child, here, depth + 1);
    }
    onPath.delete(node);
    const count = resolve(context, node.get(N('Count')));
    if (!(count instanceof PDFNumber) || count.asNumber() !== pages.length - before) repairs.add('a wrong /Count in the page tree ignored');
  };
  visit(root, {}, 0);
  return { pages, repairs: [...repairs] };
}
