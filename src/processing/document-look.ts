/**
 * `enhance: document`, the scan look: a camera photo's page is found (or its corners taken from the
 * client), warped flat and cropped; every page is then deskewed, its lighting evened out and its paper
 * made white. When the page cannot be found for sure the whole photo is kept and a finding says why.
 */
import sharp, { type Metadata, type Sharp } from 'sharp';
import { AppError } from '../kernel/errors.ts';
import { detectPage, plausibleQuad, whiteness, type Detection, type GrayImage, type Quad } from './corners.ts';
import { deskewedFinding, measureSkew, minSkewDegrees, rotateBack } from './deskew.ts';
import { evenLighting } from './illumination.ts';
import { a4Frame, targetDpi } from './page-layout.ts';
import { storedGrey } from './grey-decode.ts';
import { flatSize, storedQuad, warpToPage } from './perspective.ts';
import type { Finding } from './types.ts';

/** What the caller knows about an image: whether it is a photo of paper, and the page's corners if a client found them. */
export interface DocumentHints {
  camera?: boolean;
  /** TL, TR, BR, BL in pixels of the image as displayed (EXIF orientation applied). */
  corners?: Quad;
}

/** Longest side of the preview the page is searched in. */
const previewSide = 1000;
/** A preview whose short side is below this (a strip, a receipt's edge) holds no page to search for, nor lines to measure. */
const minPreviewSide = 16;
/** Client corners may lie this share outside the image (a rounding at the edge), not more. */
const cornerSlack = 0.01;

/** Why no page was found for sure: the detector's reasons, or an image too thin to hold a page. */
type Unsure = Exclude<Detection, { sure: true }>['reason'] | 'too_narrow';
const unsureTexts: Record<Unsure, { de: string; en: string }> = {
  too_narrow: { de: 'das Bild ist zu schmal für eine Seite', en: 'the image is too narrow to hold a page' },
  low_contrast: { de: 'zu wenig Kontrast zwischen Seite und Hintergrund', en: 'too little contrast between page and background' },
  fills_frame: { de: 'die Seite füllt das Bild oder reicht über den Rand', en: 'the page fills the frame or reaches beyond its edge' },
  no_page: { de: 'keine vierseitige Seite zu sehen', en: 'no four-sided page in view' },
};

function finding(code: string, de: string, en: string, part: number, page: number): Finding {
  return { code, message: `${de} / ${en}`, part, page };
}

/** A side scaled for a preview: at least one pixel (sharp refuses 0). */
function previewLength(side: number, scale: number): number {
  return Math.max(1, Math.round(side * scale));
}

/** The page in a photo of `fullWidth` × `fullHeight` (orientation applied), searched in a preview and scaled back. */
export async function findPage(input: Sharp, fullWidth: number, fullHeight: number): Promise<Detection | { sure: false; reason: 'too_narrow' }> {
  const scale = Math.min(1, previewSide / Math.max(fullWidth, fullHeight));
  const [width, height] = [previewLength(fullWidth, scale), previewLength(fullHeight, scale)];
  if (Math.min(width, height) < minPreviewSide) return { sure: false, reason: 'too_narrow' };
  const { data, info } = await input
    .clone()
    .rotate()
    .flatten({ background: '#ffffff' })
    .resize(width, height, { fit: 'fill' })
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const found = detectPage(whiteness(data, info.width, info.height));
  if (!found.sure) return found;
  const sx = fullWidth / info.width;
  const sy = fullHeight / info.height;
  return { sure: true, corners: found.corners.map(([x, y]) => [x * sx, y * sy] as const) as unknown as Quad };
}

function assertCorners(corners: Quad, width: number, height: number, part: number): void {
  const inside = corners.every(([x, y]) => x >= -cornerSlack * width && x <= (1 + cornerSlack) * width && y >= -cornerSlack * height && y <= (1 + cornerSlack) * height);
  if (inside && plausibleQuad(corners)) return;
  throw new AppError('validation_failed', {
    detail: {
      de: `Die Ecken (corners) für Datei ${part} beschreiben keine Seite im Bild (${width}×${height} Pixel): vier Punkte [x, y] im Bild, in der Reihenfolge oben links, oben rechts, unten rechts, unten links, ein konvexes Viereck. Senden Sie die erkannten Ecken erneut oder lassen Sie sie weg.`,
      en: `The corners for file ${part} describe no page in the image (${width}×${height} pixels): four [x, y] points inside the image, ordered top-left, top-right, bottom-right, bottom-left, a convex quadrilateral. Send the detected corners again or leave them out.`,
    },
  });
}

/** The image as stored in grey, and how to turn displayed coordinates into its own. */
export interface Stored {
  gray: GrayImage;
  orientation: number;
  /** Displayed size (orientation applied). */
  width: number;
  height: number;
}

/** The flat page at no more than 300 dpi on A4; `corners` in displayed pixels. */
export function warpFlat(stored: Stored, corners: Quad): GrayImage {
  const size = flatSize(corners);
  const { dpi } = a4Frame(size.width, size.height);
  const scale = dpi > targetDpi ? targetDpi / dpi : 1;
  const quad = storedQuad(corners, stored.orientation, stored.width, stored.height);
  return warpToPage(stored.gray, quad, Math.max(1, Math.round(size.width * scale)), Math.max(1, Math.round(size.height * scale)));
}

/** Decodes grey as stored (libjpeg-turbo's luma for a JPEG, `jpeg` being its bytes), for warpFlat. */
export async function decodeStored(input: Sharp, meta: Metadata, jpeg?: Uint8Array): Promise<Stored> {
  const sideways = (meta.orientation ?? 1) >= 5;
  const gray = await storedGrey(input, meta, jpeg);
  return { gray, orientation: meta.orientation ?? 1, width: sideways ? gray.height : gray.width, height: sideways ? gray.width : gray.height };
}

function wholeFrame(width: number, height: number): Quad {
  return [
    [0, 0],
    [width, 0],
    [width, height],
    [0, height],
  ];
}

/** Straightens a page tilted by up to 15°, measured on a preview. */
async function deskew(page: GrayImage, part: number, pageNo: number): Promise<{ page: GrayImage; findings: Finding[] }> {
  if (Math.min(page.width, page.height) < minPreviewSide) return { page, findings: [] };
  const angle = (await measureSkew(page)).degrees;
  if (Math.abs(angle) < minSkewDegrees) return { page, findings: [] };
  return { page: await rotateBack(page, angle), findings: [{ ...deskewedFinding(pageNo, angle), part }] };
}

/** The scan look for one image; `meta` is the decoded image's metadata (orientation not yet applied), `jpeg` its bytes when libjpeg-turbo may decode them (grey-decode.ts). */
export async function documentLook(input: Sharp, meta: Metadata, hints: DocumentHints, part: number, pageNo: number, jpeg?: Uint8Array): Promise<{ page: GrayImage; findings: Finding[] }> {
  const sideways = (meta.orientation ?? 1) >= 5;
  const width = sideways ? meta.height! : meta.width!;
  const height = sideways ? meta.width! : meta.height!;
  const findings: Finding[] = [];
  let page: GrayImage;
  if (hints.corners) {
    assertCorners(hints.corners, width, height, part);
    page = warpFlat(await decodeStored(input, meta, jpeg), hints.corners);
    findings.push(finding('page_corners_applied', 'Seite mit den Ecken des Geräts entzerrt und zugeschnitten', 'page flattened and cropped with the corners the device found', part, pageNo));
  } else if (hints.camera) {
    const found = await findPage(input, width, height);
    if (found.sure) {
      page = warpFlat(await decodeStored(input, meta, jpeg), found.corners);
      findings.push(finding('page_detected', 'Seite erkannt, entzerrt und zugeschnitten', 'page detected, flattened and cropped', part, pageNo));
    } else {
      page = warpFlat(await decodeStored(input, meta, jpeg), wholeFrame(width, height));
      const why = unsureTexts[found.reason];
      findings.push(finding('page_not_detected', `Seite nicht sicher erkannt (${why.de}): das ganze Foto wurde behalten, nichts abgeschnitten`, `page not found for sure (${why.en}): the whole photo was kept, nothing cropped`, part, pageNo));
    }
  } else {
    page = warpFlat(await decodeStored(input, meta, jpeg), wholeFrame(width, height));
  }
  const straight = await deskew(page, part, pageNo);
  return { page: evenLighting(straight.page), findings: [...findings, ...straight.findings] };
}
