/**
 * What Chromium's fake camera shows (--use-file-for-fake-video-capture): a generated photo of a sheet of
 * paper lying tilted on a dark desk, written as a one-frame Y4M (4:2:0, the format Chromium reads; it
 * repeats the frame). sharp renders the photo; the YUV planes are BT.601 full range (C420jpeg).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';

export const CAMERA = { width: 960, height: 720 } as const;

/** The sheet's corners in the frame, TL, TR, BR, BL. */
export const SHEET: Array<[number, number]> = [
  [190, 90],
  [760, 130],
  [730, 650],
  [160, 620],
];

function photoSvg(): string {
  const { width, height } = CAMERA;
  const lines = Array.from({ length: 12 }, (_, i) => `<rect x="${250 + (i % 3) * 6}" y="${190 + i * 34}" width="${380 - (i % 4) * 40}" height="12" fill="#222"/>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <rect width="100%" height="100%" fill="#5b4636"/>
    <polygon points="${SHEET.map((p) => p.join(',')).join(' ')}" fill="#f4f4f0"/>
    <g transform="rotate(3 480 360)">${lines}</g>
  </svg>`;
}

/** Writes the Y4M into `dir`; its path. */
export async function fakeCameraFile(dir: string): Promise<string> {
  const { width, height } = CAMERA;
  const rgb = await sharp(Buffer.from(photoSvg())).removeAlpha().raw().toBuffer();
  const y = Buffer.alloc(width * height);
  const u = Buffer.alloc((width / 2) * (height / 2));
  const v = Buffer.alloc(u.length);
  for (let i = 0; i < width * height; i++) {
    const [r, g, b] = [rgb[i * 3]!, rgb[i * 3 + 1]!, rgb[i * 3 + 2]!];
    y[i] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
  }
  for (let cy = 0; cy < height / 2; cy++) {
    for (let cx = 0; cx < width / 2; cx++) {
      const i = (cy * 2 * width + cx * 2) * 3;
      const [r, g, b] = [rgb[i]!, rgb[i + 1]!, rgb[i + 2]!];
      u[cy * (width / 2) + cx] = Math.max(0, Math.min(255, Math.round(128 - 0.168736 * r - 0.331264 * g + 0.5 * b)));
      v[cy * (width / 2) + cx] = Math.max(0, Math.min(255, Math.round(128 + 0.5 * r - 0.418688 * g - 0.081312 * b)));
    }
  }
  const file = path.join(dir, 'camera.y4m');
  await writeFile(file, Buffer.concat([Buffer.from(`YUV4MPEG2 W${width} H${height} F30:1 Ip A1:1 C420jpeg\nFRAME\n`), y, u, v]));
  return file;
}
