/** The contract between the use cases (src/documents/, its Processor in context.ts) and processing: bytes in, artifacts out. */
import type { AcceptedType } from './sniff.ts';

/** Classifications this system may hold. Higher levels are refused before processing. */
export type Classification = 'VS-NfD' | 'OFFEN';

/** Levels above VS-NfD; a VS-NfD system must refuse them (VSA). */
export const REFUSED_LEVELS = ['VS-VERTRAULICH', 'GEHEIM', 'STRENG GEHEIM'];

export type Enhance = 'none' | 'document';

/** `clean`: keep PDF structure, remove active content. `rasterize`: rebuild every page from pixels. */
export type SanitizeMode = 'clean' | 'rasterize';

export interface InputFile {
  /** Plaintext bytes as received (after JWE decryption). */
  bytes: Uint8Array;
  /** Media type the client declared (part Content-Type or JWE `cty`); checked against the content. */
  declaredType?: string;
  /** SHA-256 (hex) of `bytes` when the caller hashed them already (the crypto pool does while decrypting): not hashed again. */
  sha256?: string;
  /** The page's corners a client found in this image: TL, TR, BR, BL in pixels of the image as displayed (EXIF orientation applied). */
  corners?: readonly (readonly [number, number])[];
}

/** Marking texts. Placeholders: {level} {office} {date} {page} {pages} {documentId}. */
export interface MarkingTemplates {
  /** Top of every page; not drawn for OFFEN. Default `VS-NUR FÜR DEN DIENSTGEBRAUCH`. */
  header: string;
  /** Bottom of every page. Default `{office} · {date} · Seite {page} von {pages} · {documentId}`. */
  footer: string;
}

export interface MarkingOptions {
  /** Checked at run time too: higher levels are refused with classification_refused. */
  classification: Classification;
  /** Dienststelle shown in the footer. */
  issuingOffice: string;
  /** Capture date, printed in Europe/Berlin. */
  capturedAt: Date;
  documentId: string;
  /** Overrides of the VSA default texts. */
  templates?: Partial<MarkingTemplates>;
  /** `fit` (default): pages keep their size, content scaled into the area the marking leaves free; `extend`: pages grow by the bands. */
  layout?: 'fit' | 'extend';
  /** The rendition's title (Info and XMP); the document id when absent. */
  title?: string;
}

export interface ProcessLimits {
  /** Refuse documents with more pages than this. */
  maxPages: number;
  /** Refuse documents whose processing takes longer than this. */
  timeBudgetMs: number;
}

export interface ProcessOptions {
  enhance: Enhance;
  /** How the files were captured; `camera` photos get page detection under `enhance: document`. Default `upload`. */
  source?: 'camera' | 'scanner' | 'upload';
  sanitize: SanitizeMode;
  marking: MarkingOptions;
  limits: ProcessLimits;
}

/** Something processing did or noticed, for the transfer note. `code` is stable, `message` human. */
export interface Finding {
  code: string;
  message: string;
  /** 1-based index of the input file it concerns. */
  part?: number;
  /** 1-based page of the rendition it concerns. */
  page?: number;
  count?: number;
}

export interface OriginalInfo {
  /** Media type detected from the bytes. */
  mediaType: AcceptedType;
  size: number;
  sha256: string;
  /** Pages this part contributed to the rendition. */
  pages: number;
}

export interface ProcessResult {
  /** The marked rendition PDF. */
  rendition: Uint8Array;
  renditionSha256: string;
  pageCount: number;
  originals: OriginalInfo[];
  findings: Finding[];
}
