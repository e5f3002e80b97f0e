/**
 * Removes active content from a parsed PDF and deletes every object no longer reachable, so nothing
 * removed is written out unreferenced (pdf-lib keeps and saves unreferenced objects otherwise).
 * Hand-written because no maintained JS library sanitizes PDFs; the walk is generic over all objects.
 */
import { PDFArray, PDFDict, PDFName, PDFRef, PDFStream, PDFString, PDFHexString, type PDFContext, type PDFDocument, type PDFObject } from 'pdf-lib';

export type SanitizeCode =
  | 'javascript_removed'
  | 'launch_removed'
  | 'import_data_removed'
  | 'submit_form_removed'
  | 'remote_goto_removed'
  | 'rich_media_removed'
  | 'unsafe_uri_removed'
  | 'automatic_action_removed'
  | 'embedded_file_removed'
  | 'file_attachment_removed'
  | 'xfa_removed'
  | 'metadata_removed'
  | 'unreferenced_objects_deleted';

export const sanitizeMessages: Record<SanitizeCode, string> = {
  javascript_removed: 'JavaScript actions removed',
  launch_removed: 'Launch actions (start programs/files) removed',
  import_data_removed: 'ImportData actions removed',
  submit_form_removed: 'SubmitForm actions removed',
  remote_goto_removed: 'links into other or embedded files (GoToR/GoToE) removed',
  rich_media_removed: 'multimedia/3D content removed',
  unsafe_uri_removed: 'links with schemes other than http, https, mailto removed',
  automatic_action_removed: 'actions run on open or on events (OpenAction/AA) removed',
  embedded_file_removed: 'embedded files removed',
  file_attachment_removed: 'file attachment annotations removed',
  xfa_removed: 'XFA forms removed',
  metadata_removed: 'document information, XMP metadata and private application data removed',
  unreferenced_objects_deleted: 'unreferenced objects deleted',
};

const actionCodes: Record<string, SanitizeCode> = {
  JavaScript: 'javascript_removed',
  Launch: 'launch_removed',
  ImportData: 'import_data_removed',
  SubmitForm: 'submit_form_removed',
  GoToR: 'remote_goto_removed',
  GoToE: 'remote_goto_removed',
  RichMediaExecute: 'rich_media_removed',
  Rendition: 'rich_media_removed',
  Movie: 'rich_media_removed',
  Sound: 'rich_media_removed',
};

const annotationCodes: Record<string, SanitizeCode> = {
  FileAttachment: 'file_attachment_removed',
  RichMedia: 'rich_media_removed',
  Screen: 'rich_media_removed',
  Movie: 'rich_media_removed',
  Sound: 'rich_media_removed',
  '3D': 'rich_media_removed',
};

const safeUri = /^\s*(https?:|mailto:)/i;

const N = (name: string) => PDFName.of(name);

function nameOf(value: PDFObject | undefined): string | undefined {
  return value instanceof PDFName ? value.decodeText() : undefined;
}

function textOf(value: PDFObject | undefined): string | undefined {
  return value instanceof PDFString || value instanceof PDFHexString ? value.decodeText() : undefined;
}

type Counts = Map<SanitizeCode, number>;

function bump(counts: Counts, code: SanitizeCode, by = 1): void {
  counts.set(code, (counts.get(code) ?? 0) + by);
}

class Sanitizer {
  readonly counts: Counts = new Map();
  constructor(private readonly doc: PDFDocument) {}

  private resolve(value: PDFObject | undefined): PDFObject | undefined {
    return value instanceof PDFRef ? this.doc.context.lookup(value) : value;
  }

  private dictOf(value: PDFObject | undefined): PDFDict | undefined {
    const resolved = this.resolve(value);
    if (resolved instanceof PDFDict) return resolved;
    return resolved instanceof PDFStream ? resolved.dict : undefined;
  }

  /** The code for a dangerous action, or undefined for a harmless one (GoTo, safe URI, Named …). */
  private dangerOf(action: PDFDict): SanitizeCode | undefined {
    const kind = nameOf(action.get(N('S')));
    if (action.has(N('JS'))) return 'javascript_removed';
    if (kind === 'URI') {
      const uri = textOf(this.resolve(action.get(N('URI'))));
      return uri !== undefined && safeUri.test(uri) ? undefined : 'unsafe_uri_removed';
    }
    return kind === undefined ? undefined : actionCodes[kind];
  }

  /** Counts every action under `value` (a dict, an array or an /AA dictionary of them) by kind. */
  private countActions(value: PDFObject | undefined, fallback: SanitizeCode | undefined): void {
    const resolved = this.resolve(value);
    if (resolved instanceof PDFArray) {
      resolved.asArray().forEach((item) => this.countActions(item, fallback));
      return;
    }
    if (!(resolved instanceof PDFDict)) {
      if (fallback) bump(this.counts, fallback);
      return;
    }
    const code = resolved.has(N('S')) ? this.dangerOf(resolved) : undefined;
    if (code ?? fallback) bump(this.counts, (code ?? fallback)!);
    if (resolved.has(N('Next'))) this.countActions(resolved.get(N('Next')), fallback);
  }

  private stripTriggers(dict: PDFDict): void {
    for (const key of ['OpenAction', 'AA']) {
      const value = dict.get(N(key));
      if (value === undefined) continue;
      if (key === 'AA') {
        const triggers = this.dictOf(value);
        triggers?.values().forEach((action) => this.countActions(action, 'automatic_action_removed'));
      } else {
        this.countActions(value, 'automatic_action_removed');
      }
      dict.delete(N(key));
    }
  }

  /** An action chain is kept only if no link in it is dangerous. */
  private chainIsDangerous(value: PDFObject | undefined, seen = new Set<PDFObject>()): boolean {
    const resolved = this.resolve(value);
    if (resolved === undefined || seen.has(resolved)) return false;
    seen.add(resolved);
    if (resolved instanceof PDFArray) return resolved.asArray().some((item) => this.chainIsDangerous(item, seen));
    if (!(resolved instanceof PDFDict)) return false;
    return this.dangerOf(resolved) !== undefined || this.chainIsDangerous(resolved.get(N('Next')), seen);
  }

  private stripAction(dict: PDFDict): void {
    const action = dict.get(N('A'));
    if (action !== undefined && this.chainIsDangerous(action)) {
      this.countActions(action, undefined);
      dict.delete(N('A'));
    }
  }

  private stripAnnotations(dict: PDFDict): void {
    const annots = this.resolve(dict.get(N('Annots')));
    if (!(annots instanceof PDFArray)) return;
    const kept = annots.asArray().filter((annot) => {
      const code = annotationCodes[nameOf(this.dictOf(annot)?.get(N('Subtype'))) ?? ''];
      if (code) bump(this.counts, code);
      return code === undefined;
    });
    if (kept.length < annots.size()) dict.set(N('Annots'), this.doc.context.obj(kept));
  }

  private stripFilesAndMetadata(dict: PDFDict): void {
    if (dict.has(N('EF'))) {
      bump(this.counts, 'embedded_file_removed');
      dict.delete(N('EF'));
    }
    // Associated files (PDF 2.0, PDF/A-3) are embedded files by another name.
    dict.delete(N('AF'));
    for (const key of ['Metadata', 'PieceInfo']) {
      if (dict.has(N(key))) {
        bump(this.counts, 'metadata_removed');
        dict.delete(N(key));
      }
    }
    if (dict.has(N('XFA'))) {
      bump(this.counts, 'xfa_removed');
      dict.delete(N('XFA'));
    }
  }

  private stripCatalog(): void {
    const catalog = this.doc.catalog;
    const names = this.dictOf(catalog.get(N('Names')));
    if (names?.has(N('JavaScript'))) {
      this.countNameTree(names.get(N('JavaScript')), 'javascript_removed');
      names.delete(N('JavaScript'));
    }
    names?.delete(N('EmbeddedFiles'));
    // Author, title, tool names: the rendition carries only what VS-Capture sets.
    if (this.doc.context.trailerInfo.Info !== undefined) {
      bump(this.counts, 'metadata_removed');
      this.doc.context.trailerInfo.Info = undefined;
    }
    // Portfolios only present embedded files; NeedsRendering asks for XFA.
    catalog.delete(N('Collection'));
    catalog.delete(N('NeedsRendering'));
  }

  private countNameTree(value: PDFObject | undefined, code: SanitizeCode, seen = new Set<PDFObject>()): void {
    const node = this.dictOf(value);
    if (node === undefined || seen.has(node)) return;
    seen.add(node);
    const leaves = this.resolve(node.get(N('Names')));
    if (leaves instanceof PDFArray) bump(this.counts, code, Math.floor(leaves.size() / 2));
    const kids = this.resolve(node.get(N('Kids')));
    if (kids instanceof PDFArray) kids.asArray().forEach((kid) => this.countNameTree(kid, code, seen));
  }

  run(): void {
    this.stripCatalog();
    walk(this.doc.context, (dict) => {
      this.stripTriggers(dict);
      this.stripAction(dict);
      this.stripAnnotations(dict);
      this.stripFilesAndMetadata(dict);
    });
    this.deleteUnreachable();
  }

  private deleteUnreachable(): void {
    const deleted = deleteUnreachable(this.doc.context);
    if (deleted > 0) bump(this.counts, 'unreferenced_objects_deleted', deleted);
  }
}

/** Visits every object reachable from the trailer, direct ones included; returns the reachable refs. */
function walk(context: PDFContext, visit: (dict: PDFDict) => void): Set<string> {
  const reachable = new Set<string>();
  const seen = new Set<PDFObject>();
  const trailer = context.trailerInfo;
  const stack: PDFObject[] = [trailer.Root, trailer.Info].filter((o): o is PDFObject => o !== undefined);
  while (stack.length > 0) {
    const current = stack.pop()!;
    if (current instanceof PDFRef) {
      if (reachable.has(current.tag)) continue;
      reachable.add(current.tag);
      const target = context.lookup(current);
      if (target !== undefined) stack.push(target);
      continue;
    }
    if (seen.has(current)) continue;
    seen.add(current);
    const dict = current instanceof PDFStream ? current.dict : current;
    if (dict instanceof PDFDict) {
      visit(dict);
      stack.push(...dict.values());
    } else if (current instanceof PDFArray) {
      stack.push(...current.asArray());
    }
  }
  return reachable;
}

/** Deletes every indirect object not reachable from the trailer (pdf-lib would write them out); how many. */
export function deleteUnreachable(context: PDFContext): number {
  const reachable = walk(context, () => {});
  let deleted = 0;
  for (const [ref] of context.enumerateIndirectObjects()) {
    if (!reachable.has(ref.tag)) {
      context.delete(ref);
      deleted++;
    }
  }
  return deleted;
}

/** Sanitizes `doc` in place; returns how many of each kind of thing were removed. */
export function sanitizePdf(doc: PDFDocument): Map<SanitizeCode, number> {
  const sanitizer = new Sanitizer(doc);
  sanitizer.run();
  return sanitizer.counts;
}
