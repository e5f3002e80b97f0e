/** The CLI speaks the user's locale: German for de_* (LC_ALL, LC_MESSAGES, LANG), English otherwise. */
const locale = process.env.LC_ALL || process.env.LC_MESSAGES || process.env.LANG || '';

export const language: 'de' | 'en' = /^de/i.test(locale) ? 'de' : 'en';

/** The text in the user's language; asks the server for the same one (Accept-Language). */
export function say(de: string, en: string): string {
  return language === 'de' ? de : en;
}

export const acceptLanguage = language === 'de' ? 'de, en;q=0.5' : 'en, de;q=0.5';
