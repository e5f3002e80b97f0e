/** The cursor of every paged list: a cursor is the id of an item the caller may see (anything else is refused alike), and the settled page it leads to. */
import { AppError } from './errors.ts';
import { ULID_PATTERN } from './ulid.ts';

/** The list's name in the refusal, e.g. { de: 'dieses Feeds', en: 'this feed' }. */
export interface ListName {
  de: string;
  en: string;
}

/** The position of `cursor` as `find` reports it for the caller; a malformed or foreign cursor is a 400 that reveals nothing. */
export async function cursorPosition(cursor: string, find: (id: string) => Promise<number | undefined>, list: ListName): Promise<number> {
  const position = ULID_PATTERN.test(cursor) ? await find(cursor) : undefined;
  if (position === undefined) {
    throw new AppError('validation_failed', {
      detail: {
        de: `'after' ist kein Cursor ${list.de}. Übergeben Sie das 'next' einer früheren Seite oder lassen Sie 'after' weg, um von vorn zu beginnen.`,
        en: `'after' is not a cursor of ${list.en}. Pass the 'next' of an earlier page, or leave 'after' out to start from the beginning.`,
      },
    });
  }
  return position;
}

/** A settled page from `rows` fetched with one more than `limit`: `next` stays the caller's cursor when nothing new was visible. */
export function settledPage<R extends { id: string }, T>(rows: R[], limit: number, after: string | undefined, item: (row: R) => T): { items: T[]; next: string | null; hasMore: boolean } {
  const page = rows.slice(0, limit);
  return { items: page.map(item), next: page.at(-1)?.id ?? after ?? null, hasMore: rows.length > limit };
}
