/**
 * Export use cases: documents as an xdomea 0605 ZIP (the message plus the files it names). Built on
 * the document use cases' own role, unit and audit checks; adds the xdomea audit entry and packing.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import yazl from 'yazl';
import { AppError } from '../kernel/errors.ts';
import type { Principal } from '../auth/principal.ts';
import type { AuditLog } from '../audit/trail.ts';
import { fileFormat } from './formats.ts';
import { firstBytes } from '../storage/first-bytes.ts';
import { inspector, type Inspection } from './inspect.ts';
import {
  buildMessage,
  documentUuid,
  MESSAGE_TYPE,
  messageFileName,
  zipFileName,
  type MessageContent,
  type MessageHeader,
  type PackedDocument,
  type PackedFile,
  type Party,
  type XdomeaRecord,
} from './message.ts';

type Which = { variant: 'rendition' } | { variant: 'original'; part: number };
interface StoredFile {
  mediaType: string;
  size: number;
  sha256: string;
}

type SourceRecord = XdomeaRecord & { rendition: StoredFile; originals: Array<StoredFile & { part: number }> };

/**
 * What the export needs from the document use cases (DocumentService offers it). Content and manifest
 * are taken of the record `get` returned, so the package is of one state of the document even while
 * its text layer lands.
 */
export interface DocumentSource<R extends SourceRecord = SourceRecord> {
  get(principal: Principal, id: string): Promise<R>;
  content(principal: Principal, id: string, which: Which, record: R): Promise<StoredFile & { open(): Promise<Readable> }>;
  manifest(principal: Principal, id: string, record: R): Promise<string>;
}

export interface XdomeaExportDeps<R extends SourceRecord = SourceRecord> {
  documents: DocumentSource<R>;
  audit: AuditLog;
  parties: { sender: Party; recipient: Party };
  now?: () => number;
}

export interface ExportOptions {
  /** Include the originals as further formats (default true). */
  originals: boolean;
}

export interface XdomeaPackage {
  fileName: string;
  /** The ZIP; a storage failure after the first bytes ends it with an error. */
  stream: Readable;
}

/** Most documents in one Vorgang message. */
export const MAX_BATCH = 100;

/** A document whose role, unit and text were checked, with handles to its files (nothing opened yet). */
interface Prepared<R extends SourceRecord = SourceRecord> {
  record: R;
  files: Array<{ packed: PackedFile; mediaType: string; open(): Promise<Readable> }>;
  transferNote: Buffer;
}

export class XdomeaExport<R extends SourceRecord = SourceRecord> {
  private readonly now: () => number;

  constructor(private readonly deps: XdomeaExportDeps<R>) {
    this.now = deps.now ?? Date.now;
  }

  /** One document as Schriftgutobjekt/Dokument. */
  async document(principal: Principal, id: string, options: ExportOptions): Promise<XdomeaPackage> {
    const prepared = [await this.prepare(principal, id, options)];
    return this.pack(principal, prepared, (docs) => ({ kind: 'dokument', document: docs[0]! }));
  }

  /** Several documents of one case and unit as one Vorgang, in the order given. */
  async vorgang(principal: Principal, ids: string[], options: ExportOptions): Promise<XdomeaPackage> {
    if (new Set(ids).size !== ids.length) {
      throw new AppError('validation_failed', { detail: { de: 'Jedes Dokument nur einmal angeben.', en: 'Name each document once.' } });
    }
    const prepared: Prepared<R>[] = [];
    for (const id of ids) prepared.push(await this.prepare(principal, id, options));
    const first = prepared[0]!.record;
    if (first.caseNumber === undefined) throw vorgangRefused(first.id, 'hat kein Aktenzeichen', 'has no case number');
    for (const { record } of prepared) {
      if (record.caseNumber !== first.caseNumber) throw vorgangRefused(record.id, 'gehört zu einem anderen Aktenzeichen', 'belongs to another case number');
      if (record.unit !== first.unit) throw vorgangRefused(record.id, 'gehört zu einer anderen Dienststelle', 'belongs to another unit');
    }
    const { unit, caseNumber } = first;
    return this.pack(principal, prepared, (documents) => ({ kind: 'vorgang', unit, caseNumber, documents }));
  }

  /** The record, read once, and the role check of the content export (403/404 before anything is read). */
  private async prepare(principal: Principal, id: string, options: ExportOptions): Promise<Prepared<R>> {
    const { documents } = this.deps;
    const record = await documents.get(principal, id);
    const rendition = await documents.content(principal, id, { variant: 'rendition' }, record);
    const uuid = documentUuid(record.id);
    const originals = options.originals ? record.originals : [];
    const files = [
      {
        packed: planned(`${uuid}_Scanprodukt`, `${record.id}.pdf`, rendition, 'Scanprodukt (gekennzeichnete Rendition) / marked rendition'),
        mediaType: rendition.mediaType,
        open: () => rendition.open(),
      },
      ...(await Promise.all(
        originals.map(async (o) => {
          const content = await documents.content(principal, id, { variant: 'original', part: o.part }, record);
          return {
            packed: planned(`${uuid}_Original-${o.part}`, `${record.id}-original-${o.part}`, content, `Original, Teil ${o.part} / original, part ${o.part}`),
            mediaType: content.mediaType,
            open: () => content.open(),
          };
        }),
      )),
    ];
    return { record, files, transferNote: Buffer.from(`${JSON.stringify(record.transferNote, null, 2)}\n`) };
  }

  /**
   * Checks the message can be written (text refused → 422, nothing exported), records the export,
   * then streams the files and finally the message, which describes the bytes that went in.
   */
  private async pack(principal: Principal, prepared: Prepared<R>[], content: (docs: PackedDocument[]) => MessageContent): Promise<XdomeaPackage> {
    const header: MessageHeader = {
      processId: randomUUID(),
      createdAt: new Date(this.now()),
      sender: this.deps.parties.sender,
      recipient: this.deps.parties.recipient,
      exporter: principal.sub,
    };
    // Rendered once with the recorded digests: a text xdomea cannot carry is refused before anything is exported.
    buildMessage(header, content(prepared.map((p) => packedDocument(p, transferNoteFile(p), manifestFile(p, Buffer.alloc(0))))));
    for (const { record, files } of prepared) {
      await this.deps.audit.append({
        type: 'xdomea_exported',
        documentId: record.id,
        unit: record.unit,
        actor: { sub: principal.sub, name: principal.name },
        details: { processId: header.processId, message: MESSAGE_TYPE.name, files: files.length + 2 },
      });
    }
    const manifests = await Promise.all(prepared.map((p) => this.deps.documents.manifest(principal, p.record.id, p.record)));
    // The first file is opened before any byte is sent, so a storage fault at the start still gets its problem answer.
    const firstStream = await prepared[0]!.files[0]!.open();
    await firstBytes(firstStream);

    return { fileName: zipFileName(header.processId), stream: zipStream(prepared, manifests, firstStream, header, content) };
  }
}

/**
 * The files in order, each document's transfer note and manifest after its files, then the message:
 * built from what the files turned out to be. Any failure ends the stream with that error.
 */
function zipStream(
  prepared: Prepared[],
  manifests: string[],
  firstStream: Readable,
  header: MessageHeader,
  content: (docs: PackedDocument[]) => MessageContent,
): Readable {
  const zip = new yazl.ZipFile();
  const output = zip.outputStream as unknown as Readable;
  const opened: Readable[] = [firstStream];
  const fail = (err: unknown) => output.destroy(err instanceof Error ? err : new Error(String(err)));
  zip.on('error', fail);
  // A client that goes away releases every store stream (S3 connections) still open.
  output.once('close', () => opened.forEach((s) => s.destroy()));
  const mtime = header.createdAt;
  let first: Readable | undefined = firstStream;

  /** yazl asks for each file's bytes when their turn comes, so one store stream is open at a time. */
  const addFile = (file: Prepared['files'][number]): Promise<PackedFile> => {
    const { stream, done } = inspector();
    zip.addReadStreamLazy(file.packed.fileName, { compress: false, mtime }, (callback) => {
      if (output.destroyed) return;
      const source = first ? Promise.resolve(first) : file.open();
      first = undefined;
      source.then((s) => {
        opened.push(s);
        s.once('error', fail);
        stream.once('error', fail);
        callback(null, s.pipe(stream));
      }, fail);
    });
    return done.then((inspection) => described(file.packed, file.mediaType, inspection));
  };
  const addBuffer = (bytes: Buffer, file: PackedFile): PackedFile => {
    zip.addBuffer(bytes, file.fileName, { mtime });
    return file;
  };

  const docs = prepared.map(async (p, i): Promise<PackedDocument> => {
    const files = p.files.map(addFile);
    const transferNote = addBuffer(p.transferNote, transferNoteFile(p));
    const jws = Buffer.from(manifests[i]!);
    const manifest = addBuffer(jws, manifestFile(p, jws));
    const [rendition, ...originals] = await Promise.all(files);
    return { record: p.record, rendition: rendition!, originals, transferNote, manifest };
  });
  Promise.all(docs)
    .then((packed) => {
      zip.addBuffer(Buffer.from(buildMessage(header, content(packed))), messageFileName(header.processId), { mtime });
      zip.end();
    })
    .catch(fail);
  return output;
}

function planned(baseName: string, originalName: string, stored: StoredFile, label: string): PackedFile {
  const format = fileFormat(stored.mediaType, {});
  return { fileName: `${baseName}.${format.extension}`, originalName, format, sha256: stored.sha256, size: stored.size, label };
}

/** The file as it went into the ZIP; a digest other than the record's means the store returned other bytes. */
function described(file: PackedFile, mediaType: string, inspection: Inspection): PackedFile {
  if (inspection.sha256 !== file.sha256) {
    throw new AppError('integrity_error', {
      detail: { de: `${file.originalName}: die gespeicherten Bytes passen nicht zum verzeichneten SHA-256.`, en: `${file.originalName}: the stored bytes do not match the recorded SHA-256.` },
    });
  }
  return { ...file, format: fileFormat(mediaType, inspection.declared), size: inspection.size };
}

function bufferFile(bytes: Buffer, baseName: string, originalName: string, mediaType: string, label: string): PackedFile {
  const format = fileFormat(mediaType, {});
  return {
    fileName: `${baseName}.${format.extension}`,
    originalName,
    format,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: bytes.length,
    label,
  };
}

/** For the check before anything is exported: the files as planned, digests as recorded. */
function packedDocument(p: Prepared, transferNote: PackedFile, manifest: PackedFile): PackedDocument {
  return { record: p.record, rendition: p.files[0]!.packed, originals: p.files.slice(1).map((f) => f.packed), transferNote, manifest };
}

function transferNoteFile(p: Prepared): PackedFile {
  const { id } = p.record;
  return bufferFile(p.transferNote, `${documentUuid(id)}_Transfervermerk`, `${id}-transfervermerk.json`, 'application/json', 'Transfervermerk (BSI TR-03138) / transfer note');
}

function manifestFile(p: Prepared, jws: Buffer): PackedFile {
  const { id } = p.record;
  return bufferFile(jws, `${documentUuid(id)}_Manifest`, `${id}-manifest.jws`, 'application/jose', 'Signiertes Manifest (JWS) / signed manifest');
}

function vorgangRefused(id: string, german: string, english: string): AppError {
  return new AppError('validation_failed', {
    detail: {
      de: `Ein Vorgang fasst Dokumente eines Aktenzeichens einer Dienststelle zusammen; Dokument ${id} ${german}.`,
      en: `A Vorgang holds documents of one case number and unit; document ${id} ${english}.`,
    },
  });
}
