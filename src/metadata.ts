import { z } from 'zod';
import { AppError } from './errors.ts';
import { parseWith } from './validation.ts';

/** Levels above VS-NfD; a VS-NfD system must refuse them (VSA). */
const REFUSED_LEVELS = ['VS-VERTRAULICH', 'GEHEIM', 'STRENG GEHEIM'];

/** Control characters other than tab/newline have no place in metadata text. */
const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((s) => !/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/.test(s), 'must not contain control characters');

/** What a client sends as the `metadata` part of a capture (JSON, or the plaintext of a JWE). */
export const captureMetadataSchema = z.strictObject({
  title: text(300),
  caseNumber: text(100).optional(),
  classification: z.enum(['VS-NfD', 'OFFEN']).default('VS-NfD'),
  /** Dienststelle printed in the footer; defaults to the document's unit. */
  issuingOffice: text(200).optional(),
  /** The unit (Dienststelle) whose members may see the document; must be one of the caller's units. */
  unit: text(100).optional(),
  capturedAt: z.iso.datetime({ offset: true }).optional(),
  source: z.enum(['camera', 'scanner', 'upload']).default('upload'),
  device: z.strictObject({ app: text(100), version: text(50), model: text(100).optional() }).optional(),
  enhance: z.enum(['none', 'document']).default('none'),
  sanitize: z.enum(['clean', 'rasterize']).default('clean'),
});
export type CaptureMetadata = z.infer<typeof captureMetadataSchema>;

/** Parses metadata JSON text; refusals say which field is wrong and how. */
export function parseCaptureMetadata(json: string): CaptureMetadata {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new AppError('validation_failed', { detail: 'The metadata part is not valid JSON.' });
  }
  refuseHigherLevels(raw);
  return parseWith(captureMetadataSchema, raw, 'metadata');
}

function refuseHigherLevels(raw: unknown): void {
  const level = (raw as { classification?: unknown } | null)?.classification;
  if (typeof level !== 'string') return;
  const normalized = level.trim().toUpperCase().replace(/\s+/g, ' ');
  if (REFUSED_LEVELS.some((l) => normalized === l || normalized.startsWith(`${l} `))) {
    throw new AppError('classification_refused', {
      detail: `Documents classified '${level}' must not be processed on a VS-NfD system. Use a system approved for that level.`,
    });
  }
}
