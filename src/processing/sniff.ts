/** Type by content: the bytes decide, the declared type may only agree. */
import { fileTypeFromBuffer } from 'file-type';
import { ACCEPTED_MEDIA_TYPES, type MediaType } from '../../contract/index.ts';
import { AppError } from '../kernel/errors.ts';

/** The contract's list (openapi.yaml `MediaType`), so the reference client checks files by the same one. */
export const acceptedTypes = ACCEPTED_MEDIA_TYPES;

export type AcceptedType = MediaType;

/** Names clients send for the same thing; the value is what file-type reports. */
const aliases: Record<string, string> = {
  'image/jpg': 'image/jpeg',
  'image/pjpeg': 'image/jpeg',
  'image/x-png': 'image/png',
  'application/x-pdf': 'application/pdf',
  'image/heic-sequence': 'image/heic',
  'image/heif-sequence': 'image/heif',
};

/** Declared types that say nothing about the content, so there is nothing to contradict. */
const uninformative = new Set(['', 'application/octet-stream', 'binary/octet-stream']);

function canonical(type: string): string {
  const bare = type.split(';')[0]!.trim().toLowerCase();
  return aliases[bare] ?? bare;
}

/** HEIC and HEIF name one container; clients and file-type pick either for iPhone photos. */
function family(type: string): string {
  return type === 'image/heif' ? 'image/heic' : type;
}

function isAccepted(type: string): type is AcceptedType {
  return (acceptedTypes as readonly string[]).includes(type);
}

/** Detects the media type from the bytes; refuses unknown types and declared types the bytes contradict. */
export async function sniffMediaType(bytes: Uint8Array, declaredType?: string): Promise<AcceptedType> {
  const detected = (await fileTypeFromBuffer(bytes))?.mime;
  const declared = declaredType === undefined ? '' : canonical(declaredType);
  if (detected === undefined || !isAccepted(detected)) {
    throw new AppError('unsupported_media_type', {
      detail: {
        de: `Der Inhalt ist ${detected ?? 'von keinem erkannten Typ'}` + (declared ? ` (angegeben: ${declared})` : '') + `; senden Sie einen dieser Typen: ${acceptedTypes.join(', ')}.`,
        en: `The content is ${detected ?? 'of no recognised type'}` + (declared ? ` (declared ${declared})` : '') + `; send one of: ${acceptedTypes.join(', ')}.`,
      },
    });
  }
  if (!uninformative.has(declared) && family(declared) !== family(detected)) {
    throw new AppError('media_type_mismatch', {
      detail: {
        de: `Angegeben ist der Typ ${declared}, der Inhalt ist aber ${detected}; senden Sie die Datei mit ihrem tatsächlichen Typ.`,
        en: `Declared type ${declared} but the content is ${detected}; send the file with its real type.`,
      },
    });
  }
  return detected;
}
