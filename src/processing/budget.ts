/** Limits per document: a cooperative time budget (the pool's abort covers the rest) and a page limit. */
import { AppError } from '../kernel/errors.ts';

export interface Deadline {
  /** Throws processing_timeout once the budget is spent; `step` names where, for the detail. */
  check(step: string): void;
}

export function createDeadline(budgetMs: number, now: () => number = performance.now.bind(performance)): Deadline {
  const end = now() + budgetMs;
  return {
    check(step) {
      if (now() > end) {
        throw new AppError('processing_timeout', {
          detail: {
            // The step is named for the operator reading the English text; the person gets what to do.
            de: `Die Verarbeitung hat ihr Zeitbudget von ${budgetMs} ms überschritten; teilen Sie das Dokument oder senden Sie weniger Seiten.`,
            en: `Processing exceeded its time budget of ${budgetMs} ms (at ${step}); split the document or send fewer pages.`,
          },
        });
      }
    },
  };
}

/** Refuses a document with more pages than allowed, before the expensive work. */
export function assertPageLimit(pages: number, maxPages: number): void {
  if (pages > maxPages) {
    throw new AppError('page_limit_exceeded', {
      detail: {
        de: `Das Dokument hat ${pages} Seiten; angenommen werden höchstens ${maxPages}. Teilen Sie es in kleinere Dokumente.`,
        en: `The document has ${pages} pages; at most ${maxPages} are accepted. Split it into smaller documents.`,
      },
    });
  }
}
