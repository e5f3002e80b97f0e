/** German first, English on request; the choice lives in memory only (no storage on the device). */
export type Lang = 'de' | 'en';

const de = {
  skip: 'Zum Dokument springen',
  toolbar: 'Dokumentansicht',
  document: 'Dokument',
  prev: 'Vorherige Seite',
  next: 'Nächste Seite',
  pageLabel: 'Seite',
  pageOf: (n: number) => `von ${n}`,
  page: (n: number) => `Seite ${n}`,
  pageLoading: (n: number) => `Seite ${n} wird geladen …`,
  zoomIn: 'Vergrößern',
  zoomOut: 'Verkleinern',
  fitWidth: 'Seitenbreite',
  fitPage: 'Ganze Seite',
  caseLabel: 'Aktenzeichen',
  backToWorkspace: 'Zum Arbeitsbereich',
  close: 'Schließen',
  loading: 'Dokument wird geladen …',
  switchTo: 'English',
  expiredTitle: 'Der Link ist abgelaufen',
  expiredText: 'Aus Sicherheitsgründen gilt ein Ansichtslink nur kurze Zeit; solange Sie lesen, verlängert er sich von selbst, nach längerer Pause nicht. Öffnen Sie das Dokument erneut aus Ihrer Anwendung.',
  reloadedTitle: 'Die Ansicht wurde neu geladen',
  reloadedText: 'Der Ansichtslink wird beim Öffnen aus der Adresszeile entfernt, damit er in keinem Verlauf und keinem Lesezeichen bleibt; deshalb kann die Seite nach dem Neuladen nichts mehr zeigen. Öffnen Sie das Dokument erneut aus Ihrer Anwendung.',
  noAccessTitle: 'Kein Zugriff',
  noAccessText: 'Dieser Link berechtigt nicht zur Ansicht dieses Dokuments. Öffnen Sie das Dokument erneut aus Ihrer Anwendung oder wenden Sie sich an Ihre Administration.',
  notFoundTitle: 'Dokument nicht gefunden',
  notFoundText: 'Das Dokument oder die Seite existiert nicht (mehr). Prüfen Sie den Link.',
  failedTitle: 'Die Ansicht ist fehlgeschlagen',
  failedText: 'Der Dienst ist gerade nicht erreichbar. Versuchen Sie es in einigen Minuten erneut.',
  closedTitle: 'Ansicht geschlossen',
  closedText: 'Das Dokument wurde geschlossen; auf diesem Gerät bleibt nichts davon gespeichert. Sie können dieses Fenster jetzt schließen.',
};

type Messages = typeof de;

const en: Messages = {
  skip: 'Skip to document',
  toolbar: 'Document viewer',
  document: 'Document',
  prev: 'Previous page',
  next: 'Next page',
  pageLabel: 'Page',
  pageOf: (n: number) => `of ${n}`,
  page: (n: number) => `Page ${n}`,
  pageLoading: (n: number) => `Loading page ${n} …`,
  zoomIn: 'Zoom in',
  zoomOut: 'Zoom out',
  fitWidth: 'Fit width',
  fitPage: 'Whole page',
  caseLabel: 'Case number',
  backToWorkspace: 'To the workspace',
  close: 'Close',
  loading: 'Loading document …',
  switchTo: 'Deutsch',
  expiredTitle: 'This link has expired',
  expiredText: 'For security, a viewing link is valid for a short time only; it extends itself while you read, not after a longer pause. Open the document again from your application.',
  reloadedTitle: 'The viewer was reloaded',
  reloadedText: 'The viewing link leaves the address bar when the viewer opens, so that no history or bookmark keeps it; that is why the page cannot show anything after a reload. Open the document again from your application.',
  noAccessTitle: 'No access',
  noAccessText: 'This link does not allow viewing this document. Open the document again from your application or contact your administrator.',
  notFoundTitle: 'Document not found',
  notFoundText: 'The document or page does not exist (any more). Check the link.',
  failedTitle: 'The viewer failed',
  failedText: 'The service cannot be reached right now. Try again in a few minutes.',
  closedTitle: 'Viewer closed',
  closedText: 'The document has been closed; nothing of it remains stored on this device. You can close this window now.',
};

const messages: Record<Lang, Messages> = { de, en };
export type TextKey = { [K in keyof Messages]: Messages[K] extends string ? K : never }[keyof Messages];

let current: Lang = 'de';

export function lang(): Lang {
  return current;
}

export function t(): Messages {
  return messages[current];
}

/** Switches language and re-labels every element marked with data-i18n / data-i18n-label. */
export function setLang(next: Lang): void {
  current = next;
  document.documentElement.lang = next;
  const m = messages[next];
  for (const el of document.querySelectorAll<HTMLElement>('[data-i18n]')) el.textContent = m[el.dataset.i18n as TextKey];
  for (const el of document.querySelectorAll<HTMLElement>('[data-i18n-label]')) el.setAttribute('aria-label', m[el.dataset.i18nLabel as TextKey]);
}
