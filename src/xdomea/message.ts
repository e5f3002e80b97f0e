/**
 * The xdomea 3.0.0 message FVDaten.SGOAblegen.0605 ("a specialist procedure files Schriftgutobjekte
 * into the DMS"), built from document records and the files packed beside it. Pure: no I/O.
 * docs/xdomea.md maps every element to its source.
 */
import { createHash } from 'node:crypto';
import { ulidToUUID } from 'ulid';
import { AppError } from '../kernel/errors.ts';
import { describeChar, firstNonLatin } from './latin.ts';
import { DATEIFORMAT_LIST, type FileFormat } from './formats.ts';
import { el, serializeDocument, type XmlElement } from './xml.ts';

export const MESSAGE_TYPE = { name: 'FVDaten.SGOAblegen.0605', code: '0605' } as const;
const PRODUCT = 'VS-Capture';
const EXTENSION_ID = 'urn:vs-capture:xdomea:integritaet:1';

/** What the message reads from a document record (DocumentRecord has all of it). */
export interface XdomeaRecord {
  id: string;
  unit: string;
  title: string;
  caseNumber?: string;
  classification: 'VS-NfD' | 'OFFEN';
  createdAt: string;
  pageCount: number;
  transferNote: {
    capturedBy: { sub: string; name: string };
    capturedAt: string;
    receivedAt: string;
    source: string;
    device?: { app: string; version: string; model?: string };
    review: { status: 'pending' | 'approved' | 'rejected'; by?: { sub: string; name: string }; at?: string; note?: string };
  };
}

/** Absender or Empfänger (KontaktType): what the deployment configures. */
export interface Party {
  institution?: string;
  institutionShort?: string;
  unit?: string;
}

export interface MessageHeader {
  /** UUID of the process; also the first part of the message's and the ZIP's file names. */
  processId: string;
  createdAt: Date;
  sender: Party;
  recipient: Party;
  /** Account id of the caller who exports (Erstellerkennung). */
  exporter: string;
}

/** One file in the ZIP that the message names. */
export interface PackedFile {
  fileName: string;
  /** The name the file has in VS-Capture's API (DateinameOriginal). */
  originalName: string;
  format: FileFormat;
  sha256: string;
  size: number;
  /** Purpose, for the integrity field group's description. */
  label: string;
}

export interface PackedDocument {
  record: XdomeaRecord;
  rendition: PackedFile;
  originals: PackedFile[];
  transferNote: PackedFile;
  manifest: PackedFile;
}

export type MessageContent =
  | { kind: 'dokument'; document: PackedDocument }
  | { kind: 'vorgang'; unit: string; caseNumber: string; documents: PackedDocument[] };

export function messageFileName(processId: string): string {
  return `${processId}_${MESSAGE_TYPE.name}.xml`;
}

export function zipFileName(processId: string): string {
  return `${processId}_${MESSAGE_TYPE.name}.zip`;
}

/** The document's UUID in xdomea: its ULID's 128 bits, so every export names it the same. */
export function documentUuid(id: string): string {
  return ulidToUUID(id).toLowerCase();
}

/** A name-based UUID (RFC 9562 version 8, SHA-256, as in its appendix B.2) for objects without an id of their own. */
export function nameUuid(name: string): string {
  const bytes = createHash('sha256').update(name).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The message XML. Refuses (422, naming the field) text outside XÖV String.Latin 1.1. */
export function buildMessage(header: MessageHeader, content: MessageContent): string {
  const object = content.kind === 'dokument' ? dokument(content.document) : vorgang(content);
  return serializeDocument(
    el(
      MESSAGE_TYPE.name,
      kopf(header, content.kind === 'dokument' ? content.document.record.unit : content.unit),
      el(
        'SchriftgutobjektZumAblegen',
        // A Vorgang has no id in VS-Capture: its case number identifies it.
        el('FachverfahrenObjektID', content.kind === 'dokument' ? content.document.record.id : text('caseNumber', content.caseNumber)),
        el('Schriftgutobjekt', object),
      ),
    ),
  );
}

function kopf(header: MessageHeader, unit: string): XmlElement {
  return el(
    'Kopf',
    el('ProzessID', header.processId),
    code('Nachrichtentyp', MESSAGE_TYPE.code, 'urn:xoev-de:xdomea:codeliste:nachrichtentyp', '2.0'),
    el('Erstellungszeitpunkt', header.createdAt.toISOString()),
    kontakt('Absender', { ...header.sender, unit: header.sender.unit ?? unit }, 'XDOMEA_SENDER'),
    kontakt('Empfaenger', header.recipient, 'XDOMEA_RECIPIENT'),
    el('SendendesSystem', el('Produktname', PRODUCT)),
    // We have no channel for a receipt; the DMS confirms the import (fixed to 1) via POST …/acknowledgements.
    el('Empfangsbestaetigung', '0'),
    el('Importbestaetigung', '1'),
    el('Erstellerkennung', text('exporter (account id)', header.exporter)),
    el('Stapel', '0'),
  );
}

function kontakt(name: string, party: Party, variable: string): XmlElement {
  const institution = party.institution ?? party.institutionShort;
  return el(
    name,
    institution !== undefined &&
      el(
        'Institution',
        party.institution !== undefined && el('Name', text(`${variable}_INSTITUTION`, party.institution)),
        party.institutionShort !== undefined && el('Kurzbezeichnung', text(`${variable}_INSTITUTION_SHORT`, party.institutionShort)),
      ),
    party.unit !== undefined && el('Organisationseinheit', el('Name', text(`${variable}_UNIT / unit`, party.unit))),
  );
}

function vorgang(content: Extract<MessageContent, { kind: 'vorgang' }>): XmlElement {
  const anyNfd = content.documents.some((d) => d.record.classification === 'VS-NfD');
  return el(
    'Vorgang',
    el('Identifikation', el('ID', nameUuid(`vs-capture:vorgang:${content.unit}\n${content.caseNumber}`))),
    el('AllgemeineMetadaten', el('Kennzeichen', text('caseNumber', content.caseNumber)), vertraulichkeit(anyNfd ? 'VS-NfD' : 'OFFEN'), medium()),
    ...content.documents.map((d, i) => dokument(d, i + 1)),
  );
}

/** A Dokument; `position` is its number inside the Vorgang. */
function dokument(doc: PackedDocument, position?: number): XmlElement {
  const { record } = doc;
  // In a Vorgang, a refusal also names the document.
  const field = (name: string) => (position === undefined ? name : `${name} (Dokument/document ${record.id})`);
  const note = record.transferNote;
  const manifest = doc.manifest.fileName;
  return el(
    'Dokument',
    el('Identifikation', el('ID', documentUuid(record.id)), position !== undefined && el('NummerImUebergeordnetenContainer', String(position))),
    el(
      'AllgemeineMetadaten',
      el('Betreff', text(field('title'), record.title)),
      record.caseNumber !== undefined && el('Kennzeichen', text(field('caseNumber'), record.caseNumber)),
      vertraulichkeit(record.classification),
      medium(),
    ),
    historie(note.capturedBy.name, note.capturedAt, captureRemark(note), 'Erfasst (ersetzendes Scannen, BSI TR-03138)', [field('transferNote.capturedBy.name'), field('transferNote.device')]),
    note.review.status !== 'pending' &&
      historie(
        note.review.by?.name ?? note.review.by?.sub ?? '',
        note.review.at ?? record.createdAt,
        note.review.note,
        `Qualitätsprüfung: ${note.review.status === 'approved' ? 'freigegeben' : 'abgelehnt'}`,
        [field('transferNote.review.by.name'), field('transferNote.review.note')],
      ),
    el(
      'Version',
      el('Nummer', '1'),
      format(doc.rendition, note.capturedBy.name, record.createdAt, manifest, field('transferNote.capturedBy.name')),
      ...doc.originals.map((o) => format(o, note.capturedBy.name, note.capturedAt, manifest, field('transferNote.capturedBy.name'))),
    ),
    el(
      'Anlage',
      el('Identifikation', el('ID', nameUuid(`vs-capture:transfervermerk:${record.id}`))),
      el('AllgemeineMetadaten', el('Betreff', 'Transfervermerk (BSI TR-03138)'), vertraulichkeit(record.classification), medium()),
      el('Version', el('Nummer', '1'), format(doc.transferNote, PRODUCT, note.receivedAt, manifest, 'product')),
      el('Nummer', '1'),
    ),
    integrity(doc),
  );
}

function historie(actor: string, at: string, remark: string | undefined, action: string, [actorField, remarkField]: [string, string]): XmlElement {
  return el(
    'HistorienProtokollInformation',
    el('Akteur', text(actorField, actor)),
    el('DatumUhrzeit', at),
    remark !== undefined && el('Bemerkung', text(remarkField, remark)),
    el('Aktion', action),
  );
}

/** Who captured with what, in the words of the transfer note. */
function captureRemark(note: XdomeaRecord['transferNote']): string {
  const device = note.device ? `; Gerät/device: ${note.device.app} ${note.device.version}${note.device.model ? ` (${note.device.model})` : ''}` : '';
  return `Quelle/source: ${note.source}${device}; eingegangen/received: ${note.receivedAt}`;
}

function format(file: PackedFile, creator: string, createdAt: string, seal: string, field: string): XmlElement {
  return el(
    'Format',
    code('Name', file.format.code, DATEIFORMAT_LIST.uri, DATEIFORMAT_LIST.version),
    file.format.otherName !== undefined && el('SonstigerName', file.format.otherName),
    el('Version', file.format.version),
    el(
      'Primaerdokument',
      el('Dateiname', file.fileName),
      el('DateinameOriginal', file.originalName),
      el('Ersteller', text(field, creator)),
      el('DatumUhrzeit', createdAt),
      // The signed manifest (ES384/PS256 JWS) seals the hashes of every file of the document.
      el('SignaturSiegel', el('SignaturSiegelDatei', seal)),
    ),
  );
}

/** xdomea 3.0.0 has no field for a file's digest: the SHA-256 of every packed file travels in an application-specific extension. */
function integrity(doc: PackedDocument): XmlElement {
  const files = [doc.rendition, ...doc.originals, doc.transferNote, doc.manifest];
  return el(
    'AnwendungsspezifischeErweiterung',
    el('Kennung', EXTENSION_ID),
    el('Name', 'Integritätsnachweis (VS-Capture)'),
    el('Beschreibung', 'SHA-256 und Größe jeder Datei der Nachricht; das Manifest ist eine JWS über diese Werte (Schlüssel: GET /v1/keys).'),
    ...files.map((f) =>
      el('Feldgruppe', el('Name', f.fileName), el('Beschreibung', f.label), el('Feld', el('Name', 'SHA-256'), el('Wert', f.sha256)), el('Feld', el('Name', 'Bytes'), el('Wert', String(f.size)))),
    ),
    el('Feld', el('Name', 'VS-Capture-Dokument-ID'), el('Wert', doc.record.id)),
    el('Feld', el('Name', 'Seitenzahl'), el('Wert', String(doc.record.pageCount))),
    el('Feld', el('Name', 'Qualitätsprüfung'), el('Wert', doc.record.transferNote.review.status)),
  );
}

function vertraulichkeit(classification: XdomeaRecord['classification']): XmlElement {
  // Code list Vertraulichkeitsstufe 1.0: 002 NfD, 003 Offen.
  return code('Vertraulichkeitsstufe', classification === 'VS-NfD' ? '002' : '003', 'urn:xoev-de:xdomea:codeliste:vertraulichkeitsstufe', '1.0');
}

/** Medium 001 (elektronisch): what is filed is the electronic scan product. */
function medium(): XmlElement {
  return code('Medium', '001', 'urn:xoev-de:xdomea:codeliste:medium', '1.0');
}

function code(name: string, value: string, listURI: string, listVersionID: string): XmlElement {
  return { name, attrs: { listURI, listVersionID }, children: [{ name: 'code', unqualified: true, children: [value] }] };
}

/** Text from a record or the configuration, refused with the field's name when XÖV cannot carry it. */
function text(field: string, value: string): string {
  const bad = firstNonLatin(value);
  if (!bad) return value;
  const at = bad.position + 1;
  const char = describeChar(bad.char);
  const replace = bad.suggestion !== undefined ? { de: ` Ersetzen Sie es z. B. durch '${bad.suggestion}'.`, en: ` Replace it, e.g. with '${bad.suggestion}'.` } : { de: '', en: '' };
  throw new AppError('xdomea_not_representable', {
    detail: {
      de: `Das Feld '${field}' enthält an Position ${at} das Zeichen ${char}, das xdomea (XÖV String.Latin 1.1) nicht zulässt.${replace.de}`,
      en: `Field '${field}' contains the character ${char} at position ${at}, which xdomea (XÖV String.Latin 1.1) does not allow.${replace.en}`,
    },
    extra: { field, character: `U+${bad.char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}` },
  });
}

