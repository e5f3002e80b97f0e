/**
 * Page geometry as readers compute it (pdf.js's rules): MediaBox (US Letter when missing, empty or
 * zero-area), CropBox clipped to it (the MediaBox when the result is empty), /Rotate in quarter turns
 * (anything else is 0), /UserUnit (1 unless a positive number). Output pages are always upright at the
 * origin, in points, with UserUnit 1: the matrices here map a source page onto them.
 */
import { PDFArray, PDFName, PDFNumber, PDFRef, type PDFContext, type PDFDict, type PDFObject } from 'pdf-lib';

export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export type Quarter = 0 | 90 | 180 | 270;
export type Matrix = [number, number, number, number, number, number];

export interface PageGeometry {
  /** The visible box, in the page's user space (before UserUnit). */
  box: Box;
  turn: Quarter;
  unit: number;
  /** Size as the reader sees it (turn and UserUnit applied), in points. */
  widthPt: number;
  heightPt: number;
}

const letter: Box = { x1: 0, y1: 0, x2: 612, y2: 792 };

function numberOf(context: PDFContext, value: PDFObject | undefined): number | undefined {
  const resolved = value instanceof PDFRef ? context.lookup(value) : value;
  return resolved instanceof PDFNumber && Number.isFinite(resolved.asNumber()) ? resolved.asNumber() : undefined;
}

/** A box from a PDF rectangle, normalized; undefined unless four numbers of positive area. */
export function boxOf(context: PDFContext, value: PDFObject | undefined): Box | undefined {
  const array = value instanceof PDFRef ? context.lookup(value) : value;
  if (!(array instanceof PDFArray) || array.size() !== 4) return undefined;
  const [xa, ya, xb, yb] = array.asArray().map((v) => numberOf(context, v));
  if (xa === undefined || ya === undefined || xb === undefined || yb === undefined) return undefined;
  const box = { x1: Math.min(xa, xb), y1: Math.min(ya, yb), x2: Math.max(xa, xb), y2: Math.max(ya, yb) };
  return box.x2 > box.x1 && box.y2 > box.y1 ? box : undefined;
}

function intersect(a: Box, b: Box): Box | undefined {
  const box = { x1: Math.max(a.x1, b.x1), y1: Math.max(a.y1, b.y1), x2: Math.min(a.x2, b.x2), y2: Math.min(a.y2, b.y2) };
  return box.x2 > box.x1 && box.y2 > box.y1 ? box : undefined;
}

function quarter(angle: number | undefined): Quarter {
  if (angle === undefined || !Number.isInteger(angle) || angle % 90 !== 0) return 0;
  return (((angle % 360) + 360) % 360) as Quarter;
}

export function pageGeometry(context: PDFContext, inherited: { MediaBox?: PDFObject; CropBox?: PDFObject; Rotate?: PDFObject }, page: PDFDict): PageGeometry {
  const media = boxOf(context, inherited.MediaBox) ?? letter;
  const crop = boxOf(context, inherited.CropBox);
  const box = (crop && intersect(media, crop)) ?? media;
  const turn = quarter(numberOf(context, inherited.Rotate));
  const rawUnit = numberOf(context, page.get(PDFName.of('UserUnit')));
  const unit = rawUnit !== undefined && rawUnit > 0 ? rawUnit : 1;
  const sideways = turn === 90 || turn === 270;
  const [w, h] = [(box.x2 - box.x1) * unit, (box.y2 - box.y1) * unit];
  return { box, turn, unit, widthPt: sideways ? h : w, heightPt: sideways ? w : h };
}

export function multiply(m: Matrix, n: Matrix): Matrix {
  // m then n (PDF's row-vector convention: the result maps as m first, then n).
  return [
    m[0] * n[0] + m[1] * n[2],
    m[0] * n[1] + m[1] * n[3],
    m[2] * n[0] + m[3] * n[2],
    m[2] * n[1] + m[3] * n[3],
    m[4] * n[0] + m[5] * n[2] + n[4],
    m[4] * n[1] + m[5] * n[3] + n[5],
  ];
}

/** Maps the page's user space onto reader space: the visible box's seen bottom-left at the origin, points, upright. */
export function userToReader(g: PageGeometry): Matrix {
  const { box, unit } = g;
  const toOrigin: Matrix = [1, 0, 0, 1, -box.x1, -box.y1];
  const [w, h] = [box.x2 - box.x1, box.y2 - box.y1];
  // Clockwise /Rotate turns the page as displayed clockwise.
  const turns: Record<Quarter, Matrix> = {
    0: [1, 0, 0, 1, 0, 0],
    90: [0, -1, 1, 0, 0, w],
    180: [-1, 0, 0, -1, w, h],
    270: [0, 1, -1, 0, h, 0],
  };
  return multiply(multiply(toOrigin, turns[g.turn]), [unit, 0, 0, unit, 0, 0]);
}

/** The PDF operand text of a matrix, rounded enough for placement and short. */
export function matrixText(m: Matrix): string {
  return m.map((v) => String(Math.round(v * 1e6) / 1e6)).join(' ');
}
