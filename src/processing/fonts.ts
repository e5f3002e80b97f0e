/** Whether everything a page draws with carries its font program (PDF/A forbids fonts the reader must substitute). */
import { PDFArray, PDFDict, PDFName, PDFRef, PDFStream, type PDFContext, type PDFObject } from 'pdf-lib';

const N = (name: string) => PDFName.of(name);
const fontSubtypes = new Set(['Type1', 'MMType1', 'TrueType', 'CIDFontType0', 'CIDFontType2']);

function fontEmbedded(context: PDFContext, font: PDFDict): boolean {
  const descriptor = context.lookup(font.get(N('FontDescriptor')));
  if (!(descriptor instanceof PDFDict)) return false;
  return ['FontFile', 'FontFile2', 'FontFile3'].some((key) => context.lookup(descriptor.get(N(key))) instanceof PDFStream);
}

/** True when every simple and CID font reachable from `resources` (through forms, patterns, Type 3 glyphs) is embedded. */
export function allFontsEmbedded(context: PDFContext, resources: PDFDict | undefined): boolean {
  if (!resources) return true;
  const seen = new Set<PDFObject>();
  const stack: PDFObject[] = [resources];
  while (stack.length > 0) {
    let current = stack.pop()!;
    if (current instanceof PDFRef) current = context.lookup(current) as PDFObject;
    if (current === undefined || seen.has(current)) continue;
    seen.add(current);
    const dict = current instanceof PDFStream ? current.dict : current;
    if (dict instanceof PDFDict) {
      const subtype = context.lookup(dict.get(N('Subtype')));
      const isFont = context.lookup(dict.get(N('Type'))) === N('Font') || dict.has(N('BaseFont'));
      if (isFont && subtype instanceof PDFName && fontSubtypes.has(subtype.decodeText()) && !fontEmbedded(context, dict)) return false;
      // The parent chain and annotations' page back-references lead out of what the page draws.
      for (const [key, value] of dict.entries()) if (key !== N('Parent') && key !== N('P')) stack.push(value);
    } else if (current instanceof PDFArray) stack.push(...current.asArray());
  }
  return true;
}
