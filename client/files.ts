/** What the CLI checks on the user's machine before anything is encrypted or sent: each refusal names the file. */
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { ACCEPTED_MEDIA_TYPES } from '../contract/index.ts';
import { detectType } from './encrypt.ts';
import { say } from './language.ts';

/** A problem with the user's input, reported as one line (exit code 2). */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

export interface CheckedFile {
  file: string;
  size: number;
  mediaType: string;
}

/** Bytes enough for every accepted type's signature. */
const SNIFF_BYTES = 4100;

export async function checkFile(file: string, maxBytes: number): Promise<CheckedFile> {
  const info = await stat(file).catch((err: NodeJS.ErrnoException) => {
    throw new InputError(err.code === 'ENOENT' ? say(`Datei nicht gefunden: ${file}`, `file not found: ${file}`) : say(`${file} ist nicht lesbar (${err.code})`, `cannot read ${file} (${err.code})`));
  });
  if (info.isDirectory()) {
    throw new InputError(say(`${file} ist ein Verzeichnis; nennen Sie die Dateien darin, z. B. ${path.join(file, '*.jpg')}`, `${file} is a directory; name the files in it, e.g. ${path.join(file, '*.jpg')}`));
  }
  if (info.size === 0) throw new InputError(say(`${file} ist leer`, `${file} is empty`));
  if (info.size > maxBytes) {
    throw new InputError(
      say(
        `${file} hat ${info.size} Bytes; der Dienst nimmt höchstens ${maxBytes} an (--max-file-bytes, MAX_FILE_BYTES des Dienstes); teilen oder komprimieren Sie die Datei`,
        `${file} has ${info.size} bytes; the service accepts at most ${maxBytes} (--max-file-bytes, the service's MAX_FILE_BYTES); split or compress it`,
      ),
    );
  }
  const mediaType = await detectType(await head(file));
  if (!mediaType || !(ACCEPTED_MEDIA_TYPES as readonly string[]).includes(mediaType)) {
    const is = mediaType ?? say('von keinem erkannten Typ', 'of no recognised type');
    throw new InputError(say(`${file} ist ${is}; angenommen werden PDF, JPEG, PNG, TIFF, WebP, HEIC/HEIF und AVIF`, `${file} is ${is}; accepted are PDF, JPEG, PNG, TIFF, WebP, HEIC/HEIF and AVIF`));
  }
  return { file, size: info.size, mediaType };
}

async function head(file: string): Promise<Uint8Array> {
  const handle = await open(file);
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(SNIFF_BYTES), 0, SNIFF_BYTES, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Levels above VS-NfD must not reach a VS-NfD system; other spellings get the accepted one. */
export function checkClassification(level: string): 'VS-NfD' | 'OFFEN' {
  if (level === 'VS-NfD' || level === 'OFFEN') return level;
  const folded = level.toLowerCase().replace(/[\s.\-_]/g, '');
  if (['vsvertraulich', 'geheim', 'strenggeheim'].some((l) => folded.startsWith(l))) {
    throw new InputError(say(`Die Einstufung '${level}' darf nicht auf einem VS-NfD-System verarbeitet werden; nichts wurde gesendet`, `the classification '${level}' must not be processed on a VS-NfD system; nothing was sent`));
  }
  const accepted = ['vsnfd', 'vsnurfürdendienstgebrauch', 'vsnurfuerdendienstgebrauch', 'nfd'].includes(folded) ? 'VS-NfD' : folded === 'offen' ? 'OFFEN' : undefined;
  throw new InputError(
    accepted
      ? say(`--classification '${level}': schreiben Sie '${accepted}'`, `--classification '${level}': write '${accepted}'`)
      : say(`--classification muss VS-NfD oder OFFEN sein, nicht '${level}'`, `--classification must be VS-NfD or OFFEN, not '${level}'`),
  );
}
