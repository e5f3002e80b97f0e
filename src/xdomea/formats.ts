/**
 * Dateiformat codes of the xdomea code list urn:xoev-de:xdomea:codeliste:dateiformat, version 1.0
 * (code_lists/Dateiformat_1.0.xml beside the schemas), for the media types VS-Capture stores.
 */
export const DATEIFORMAT_LIST = { uri: 'urn:xoev-de:xdomea:codeliste:dateiformat', version: '1.0' } as const;

export interface FileFormat {
  /** Dateiformat code. */
  code: string;
  /** SonstigerName, for code 100 (Sonstiges). */
  otherName?: string;
  /** FormatType.Version, e.g. "PDF/A-2b" or "1.7"; empty when the file declares none we read. */
  version: string;
  extension: string;
}

/** What a file declares about itself, read while it streams (inspect.ts). */
export interface Declared {
  pdfVersion?: string;
  pdfa?: { part: string; conformance: string };
}

const SONSTIGES = '100';

export function fileFormat(mediaType: string, declared: Declared): FileFormat {
  if (mediaType === 'application/pdf') {
    // 044 "pdf - Portable Document Format (Archival)" only for files that declare PDF/A.
    if (declared.pdfa) return { code: '044', version: `PDF/A-${declared.pdfa.part}${declared.pdfa.conformance.toLowerCase()}`, extension: 'pdf' };
    return { code: '018', version: declared.pdfVersion ?? '', extension: 'pdf' };
  }
  const known: Record<string, Omit<FileFormat, 'version'>> = {
    'image/jpeg': { code: '011', extension: 'jpg' },
    'image/png': { code: '019', extension: 'png' },
    'image/tiff': { code: '023', extension: 'tif' },
    'application/json': { code: SONSTIGES, otherName: 'json', extension: 'json' },
    'application/jose': { code: SONSTIGES, otherName: 'jws', extension: 'jws' },
  };
  const format = known[mediaType] ?? { code: SONSTIGES, otherName: subtypeOf(mediaType), extension: subtypeOf(mediaType) };
  return { ...format, version: '' };
}

/** `image/heic` → `heic`: a file extension made of the media subtype's safe characters. */
function subtypeOf(mediaType: string): string {
  return (mediaType.split('/')[1] ?? 'bin').replace(/[^a-z0-9]+/gi, '').slice(0, 10) || 'bin';
}
