/** The language of problem details: German first, English for callers who prefer it (Accept-Language). */
import type { Request } from 'express';
import type { ErrorCode, Localized } from '../../kernel/errors.ts';

export type Language = keyof Localized;

/** German titles of the problem registry (errors.ts holds the English ones). */
export const germanTitles: Record<ErrorCode, string> = {
  bad_request: 'Ungültige Anfrage',
  validation_failed: 'Eingaben ungültig',
  unauthenticated: 'Anmeldung erforderlich',
  ticket_invalid: 'Ansichtsticket ungültig',
  ticket_expired: 'Ansichtsticket abgelaufen',
  ticket_wrong_document: 'Ansichtsticket gilt für ein anderes Dokument',
  forbidden: 'Nicht erlaubt',
  not_found: 'Nicht gefunden',
  method_not_allowed: 'Methode nicht erlaubt',
  conflict: 'Konflikt',
  gone: 'Nicht mehr vorhanden',
  length_required: 'Content-Length erforderlich',
  request_timeout: 'Anfrage zu langsam übertragen',
  tus_version_required: 'Tus-Resumable-Header erforderlich',
  tus_extension_unsupported: 'tus-Erweiterung nicht angeboten',
  payload_too_large: 'Zu groß',
  range_not_satisfiable: 'Bereich nicht erfüllbar',
  header_fields_too_large: 'Header-Felder zu groß',
  unsupported_media_type: 'Nicht unterstützter Dateityp',
  media_type_mismatch: 'Angegebener Dateityp widerspricht dem Inhalt',
  unprocessable: 'Dokument kann nicht verarbeitet werden',
  classification_refused: 'Einstufung auf diesem System nicht erlaubt',
  encrypted_pdf: 'Passwortgeschütztes PDF',
  page_limit_exceeded: 'Zu viele Seiten',
  image_too_large: 'Bild überschreitet die Pixelgrenze',
  processing_timeout: 'Verarbeitungszeit überschritten',
  jwe_invalid: 'Verschlüsselter Teil abgelehnt',
  idempotency_conflict: 'Idempotency-Key für eine andere Anfrage verwendet',
  idempotency_in_progress: 'Eine Anfrage mit diesem Idempotency-Key läuft noch',
  retention_active: 'Aufbewahrungsfrist läuft noch',
  too_many_requests: 'Zu viele Anfragen',
  busy: 'Dienst ausgelastet',
  idp_unavailable: 'Anmeldedienst nicht erreichbar',
  storage_unavailable: 'Speicher nicht erreichbar',
  integrity_error: 'Gespeichertes Objekt hat die Integritätsprüfung nicht bestanden',
  xdomea_not_representable: 'Dokument lässt sich nicht in xdomea ausdrücken',
  internal: 'Interner Fehler',
};

/** German unless the caller prefers English; without Accept-Language, German. */
export function languageOf(req: Request | undefined): Language {
  if (!req?.headers['accept-language']) return 'de';
  return req.acceptsLanguages('de', 'en') === 'en' ? 'en' : 'de';
}

function isLocalized(value: unknown): value is Localized {
  return typeof value === 'object' && value !== null && typeof (value as Localized).de === 'string' && typeof (value as Localized).en === 'string' && Object.keys(value).length === 2;
}

/** Replaces every two-language text inside `value` by its text in `lang`. */
export function localize(value: unknown, lang: Language): unknown {
  if (isLocalized(value)) return value[lang];
  if (Array.isArray(value)) return value.map((v) => localize(v, lang));
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, localize(v, lang)]));
  return value;
}
