/**
 * PDF/A-2b for every rendition (ISO 19005-2, level B): the marking font embedded and subset, XMP
 * metadata with pdfaid part 2 / conformance B that agrees with the Info dictionary, an sRGB
 * OutputIntent with its ICC profile, and a document ID. The font (DejaVu Sans, Debian
 * fonts-dejavu-core, Bitstream Vera licence) and the profile (sRGB.icc, Debian icc-profiles-free,
 * zlib licence) are read from those packages' files (the Dockerfile installs both).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fontkit from '@pdf-lib/fontkit';
import { PDFHexString, PDFName, PDFString, type PDFDocument, type PDFFont } from 'pdf-lib';
import type { MarkFonts } from './marking.ts';

const fontDir = '/usr/share/fonts/truetype/dejavu';
const iccPath = '/usr/share/color/icc/sRGB.icc';

/** Read once per process (worker thread): a few hundred KB that every document needs. */
let files: { regular: Buffer; bold: Buffer; icc: Buffer } | undefined;
function packagedFiles() {
  files ??= {
    regular: readFileSync(`${fontDir}/DejaVuSans.ttf`),
    bold: readFileSync(`${fontDir}/DejaVuSans-Bold.ttf`),
    icc: readFileSync(iccPath),
  };
  return files;
}

type Fontkit = Parameters<PDFDocument['registerFontkit']>[0];

/**
 * fontkit that parses each font file once per worker thread: parsing DejaVu Sans afresh was a third of a
 * photo's processing (issue 13). Safe to share: every embedding makes its own subset of the parsed font,
 * and the font object only caches what it decodes.
 */
const parsedFonts = new WeakMap<Uint8Array, ReturnType<Fontkit['create']>>();
const parsedOnce: Fontkit = {
  create(bytes, postscriptName) {
    if (postscriptName !== undefined) return fontkit.create(bytes, postscriptName);
    let font = parsedFonts.get(bytes);
    if (!font) parsedFonts.set(bytes, (font = fontkit.create(bytes)));
    return font;
  },
};

/** DejaVu Sans for the OCR text layer (text-layer.ts): the same file and parsed font as the marking's footer. */
export async function embedTextFont(doc: PDFDocument): Promise<PDFFont> {
  doc.registerFontkit(parsedOnce);
  return doc.embedFont(packagedFiles().regular, { subset: true });
}

export async function embedMarkFonts(doc: PDFDocument): Promise<MarkFonts> {
  doc.registerFontkit(parsedOnce);
  const { regular, bold } = packagedFiles();
  return { header: await doc.embedFont(bold, { subset: true }), footer: await doc.embedFont(regular, { subset: true }) };
}

function xmlEscape(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface ArchiveInfo {
  title: string;
  createdAt: Date;
  /** Makes the document ID: the same document gets the same ID. */
  documentId: string;
}

const tool = 'VS-Capture';

function xmp(info: ArchiveInfo): string {
  // XMP dates carry the zone; the Info dictionary's are written by pdf-lib from the same instant (UTC).
  const date = info.createdAt.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const title = xmlEscape(info.title);
  return `<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">
   <pdfaid:part>2</pdfaid:part>
   <pdfaid:conformance>B</pdfaid:conformance>
   <dc:format>application/pdf</dc:format>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">${title}</rdf:li></rdf:Alt></dc:title>
   <xmp:CreatorTool>${tool}</xmp:CreatorTool>
   <xmp:CreateDate>${date}</xmp:CreateDate>
   <xmp:ModifyDate>${date}</xmp:ModifyDate>
   <xmp:MetadataDate>${date}</xmp:MetadataDate>
   <pdf:Producer>${tool}</pdf:Producer>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>`;
}

/** Info, XMP, OutputIntent and ID: what makes the marked document a PDF/A-2b file. */
export function makeArchiveDocument(doc: PDFDocument, info: ArchiveInfo): void {
  const context = doc.context;
  doc.setTitle(info.title);
  doc.setProducer(tool);
  doc.setCreator(tool);
  doc.setCreationDate(info.createdAt);
  doc.setModificationDate(info.createdAt);
  // Metadata streams stay uncompressed (PDF/A recommends it: archives read them without a PDF library).
  const metadata = context.stream(Buffer.from(xmp(info), 'utf8'), { Type: 'Metadata', Subtype: 'XML' });
  doc.catalog.set(PDFName.of('Metadata'), context.register(metadata));
  const profile = context.flateStream(packagedFiles().icc, { N: 3 });
  const intent = context.obj({
    Type: 'OutputIntent',
    S: 'GTS_PDFA1',
    OutputConditionIdentifier: PDFString.of('sRGB IEC61966-2.1'),
    Info: PDFString.of('sRGB IEC61966-2.1'),
    DestOutputProfile: context.register(profile),
  });
  doc.catalog.set(PDFName.of('OutputIntents'), context.obj([intent]));
  const id = PDFHexString.of(createHash('sha256').update(info.documentId).digest('hex').slice(0, 32));
  context.trailerInfo.ID = context.obj([id, id]);
}
