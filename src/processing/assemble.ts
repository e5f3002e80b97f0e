/** Places page images on PDF pages: the camera's JPEG as is, its orientation as a PDF transform. */
import { concatTransformationMatrix, drawObject, popGraphicsState, pushGraphicsState, type PDFDocument } from 'pdf-lib';
import type { PageImage, Quarter } from './images.ts';
import type { PagePlan } from './rebuild.ts';

/** Matrix mapping the unit square of the stored image onto the box (x, y, w, h), turned clockwise. */
function placement(turn: Quarter, x: number, y: number, w: number, h: number): [number, number, number, number, number, number] {
  switch (turn) {
    case 0:
      return [w, 0, 0, h, x, y];
    case 90:
      return [0, -h, w, 0, x, y + h];
    case 180:
      return [-w, 0, 0, -h, x + w, y + h];
    case 270:
      return [0, h, -w, 0, x + w, y];
  }
}

/** Adds a page of the plan's size with the image fitted and centred in the area its marking leaves free; pixels are never resampled here. */
export async function addImagePage(doc: PDFDocument, image: PageImage, plan: PagePlan, at?: number): Promise<void> {
  // pdf-lib reads the JPEG header through `.buffer` ignoring byteOffset: pooled Buffers need a copy.
  const embedded = await doc.embedJpg(image.jpeg.byteOffset === 0 ? image.jpeg : new Uint8Array(image.jpeg));
  const sideways = image.turn === 90 || image.turn === 270;
  const w = sideways ? image.heightPx : image.widthPx;
  const h = sideways ? image.widthPx : image.heightPx;
  const [boxW, boxH] = [plan.widthPt, plan.heightPt - plan.bands.header - plan.bands.footer];
  const scale = Math.min(boxW / w, boxH / h);
  const [dw, dh] = [w * scale, h * scale];
  const page = at === undefined ? doc.addPage([plan.widthPt, plan.heightPt]) : doc.insertPage(at, [plan.widthPt, plan.heightPt]);
  const name = page.node.newXObject('Image', embedded.ref);
  const [a, b, c, d, e, f] = placement(image.turn, (boxW - dw) / 2, plan.bands.footer + (boxH - dh) / 2, dw, dh);
  page.pushOperators(pushGraphicsState(), concatTransformationMatrix(a, b, c, d, e, f), drawObject(name), popGraphicsState());
}
