/** Dates as printed on documents and watermarks: German format, Europe/Berlin time. */
const BERLIN_DAY = { timeZone: 'Europe/Berlin', day: '2-digit', month: '2-digit', year: 'numeric' } as const;

export const berlinDate = new Intl.DateTimeFormat('de-DE', BERLIN_DAY);

export const berlinDateTime = new Intl.DateTimeFormat('de-DE', { ...BERLIN_DAY, hour: '2-digit', minute: '2-digit' });
