import { z } from 'zod';
import { AppError } from '../kernel/errors.ts';
import { parseWith, says } from '../kernel/validation.ts';
import { REFUSED_LEVELS } from '../processing/types.ts';

/** Characters that make text show differently from what it is, or nothing at all: refused, naming the field. */
const CHARACTER_RULES: Array<{ bad: (s: string) => boolean; de: string; en: string }> = [
  {
    bad: (s) => /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/.test(s),
    de: 'enthält Steuerzeichen (U+0000–U+001F außer Tab und Zeilenwechsel, U+007F–U+009F); entfernen Sie sie',
    en: 'contains control characters (U+0000–U+001F other than tab and line breaks, U+007F–U+009F); remove them',
  },
  {
    bad: (s) => /\p{Bidi_Control}/u.test(s),
    de: 'enthält Zeichen, die die Schreibrichtung steuern (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) und Text anders anzeigen können, als er ist; entfernen Sie sie',
    en: 'contains bidirectional control characters (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) that can make text display differently from what it is; remove them',
  },
  {
    bad: (s) => /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s),
    de: 'ist kein gültiges Unicode (ein einzelnes Surrogat wie \\ud800); senden Sie gültigen Text',
    en: 'is not valid Unicode (a lone surrogate such as \\ud800); send valid text',
  },
  {
    bad: (s) => !/[^\s\p{Z}\p{C}\p{M}\p{Default_Ignorable_Code_Point}\u2800]/u.test(s),
    de: 'enthält kein sichtbares Zeichen; geben Sie lesbaren Text an',
    en: 'contains no visible character; give readable text',
  },
];

/** Metadata text: trimmed, bounded, refused when it hides or fakes what it says, stored NFC-normalized. */
const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .superRefine((value, ctx) => {
      const rule = CHARACTER_RULES.find((r) => r.bad(value));
      if (rule) ctx.addIssue({ code: 'custom', ...says(rule.de, rule.en) });
    })
    .transform((value) => value.normalize('NFC'));

/** [x, y] in image pixels; whether it lies inside the image is checked against the image itself. */
const point = z.tuple([z.number().finite().min(0).max(100_000), z.number().finite().min(0).max(100_000)]);

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
  /** Default: `document` for `source: camera`, else `none` (see `enhanceOf`). */
  enhance: z.enum(['none', 'document']).optional(),
  /** Per file part, in order: the page's corners a client found (TL, TR, BR, BL, pixels of the displayed image), or null. */
  corners: z.array(z.union([z.null(), z.tuple([point, point, point, point])])).max(100).optional(),
  sanitize: z.enum(['clean', 'rasterize']).default('clean'),
});
export type CaptureMetadata = z.infer<typeof captureMetadataSchema>;
export type Enhance = NonNullable<CaptureMetadata['enhance']>;

/** Photos of paper get the scan look unless the client asks for the JPEG as taken (`none`). */
export function enhanceOf(metadata: CaptureMetadata): Enhance {
  return metadata.enhance ?? (metadata.source === 'camera' ? 'document' : 'none');
}

/** Parses metadata JSON text; refusals say which field is wrong and how. */
export function parseCaptureMetadata(json: string): CaptureMetadata {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new AppError('validation_failed', {
      detail: { de: 'Der metadata-Teil ist kein gültiges JSON; senden Sie ein JSON-Objekt wie {"title": "…"}.', en: 'The metadata part is not valid JSON; send a JSON object such as {"title": "…"}.' },
    });
  }
  refuseHigherLevels(raw);
  return parseWith(captureMetadataSchema, raw, { de: 'Der metadata-Teil', en: 'metadata' });
}

function refuseHigherLevels(raw: unknown): void {
  const level = (raw as { classification?: unknown } | null)?.classification;
  if (typeof level !== 'string') return;
  const normalized = level.trim().toUpperCase().replace(/\s+/g, ' ');
  if (REFUSED_LEVELS.some((l) => normalized === l || normalized.startsWith(`${l} `))) {
    throw new AppError('classification_refused', {
      detail: {
        de: `Dokumente der Einstufung '${level}' dürfen nicht auf einem VS-NfD-System verarbeitet werden. Verwenden Sie ein für diese Einstufung zugelassenes System.`,
        en: `Documents classified '${level}' must not be processed on a VS-NfD system. Use a system approved for that level.`,
      },
    });
  }
}
