import type { Request } from 'express';
import { z } from 'zod';
import { AppError, type Localized } from './errors.ts';

/**
 * Validates input before the handler runs. Refusals name each bad field and say, in German and
 * English and in our own words (never the validator's), what was wrong and what to send instead.
 */
export function parseWith<T extends z.ZodType>(schema: T, input: unknown, what: Localized): z.infer<T> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const errors = parsed.error.issues.map((issue) => ({ field: fieldOf(issue), message: describe(issue, schema, input) }));
  throw new AppError('validation_failed', {
    detail: {
      de: `${what.de} ist ungültig: ${errors.map((e) => `${e.field}: ${e.message.de}`).join('; ')}.`,
      en: `The ${what.en} is invalid: ${errors.map((e) => `${e.field}: ${e.message.en}`).join('; ')}.`,
    },
    extra: { errors },
  });
}

export function parseQuery<T extends z.ZodType>(schema: T, req: Request): z.infer<T> {
  return parseWith(schema, req.query, { de: 'Die Abfrage (Query)', en: 'query' });
}

export function parseBody<T extends z.ZodType>(schema: T, req: Request): z.infer<T> {
  return parseWith(schema, req.body, { de: 'Der Request-Body', en: 'request body' });
}

/** A refinement with our message in both languages: `.refine(check, says(de, en))`. */
export function says(de: string, en: string): { params: Localized } {
  return { params: { de, en } };
}

/** Common German (and English) names for our fields, so `aktenzeichen` leads to `caseNumber`. */
const SYNONYMS: Record<string, string> = {
  aktenzeichen: 'caseNumber',
  az: 'caseNumber',
  geschaeftszeichen: 'caseNumber',
  geschäftszeichen: 'caseNumber',
  case: 'caseNumber',
  titel: 'title',
  betreff: 'title',
  name: 'title',
  einstufung: 'classification',
  klassifizierung: 'classification',
  vs: 'classification',
  dienststelle: 'unit',
  behoerde: 'issuingOffice',
  behörde: 'issuingOffice',
  quelle: 'source',
  geraet: 'device',
  gerät: 'device',
  erfasstam: 'capturedAt',
  aufgenommenam: 'capturedAt',
  rollen: 'roles',
  einheiten: 'units',
  dienststellen: 'units',
  grund: 'reason',
  bemerkung: 'note',
  notiz: 'note',
  entscheidung: 'decision',
  referenz: 'reference',
  breite: 'width',
};

/** Other spellings of allowed values, folded (lower case, no spaces, hyphens or dots). */
const VALUE_SYNONYMS: Record<string, string> = {
  vsnurfürdendienstgebrauch: 'VS-NfD',
  vsnurfuerdendienstgebrauch: 'VS-NfD',
  nurfürdendienstgebrauch: 'VS-NfD',
  nfd: 'VS-NfD',
  offen: 'OFFEN',
  open: 'OFFEN',
  unclassified: 'OFFEN',
};

type Issue = z.core.$ZodIssue;

function fieldOf(issue: Issue): string {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') return [...path, issue.keys.join(', ')].join('.');
  return path.join('.') || '(root)';
}

function describe(issue: Issue, schema: z.ZodType, input: unknown): Localized {
  switch (issue.code) {
    case 'custom':
      return (issue.params as Localized | undefined) ?? { de: 'ist ungültig', en: 'is invalid' };
    case 'unrecognized_keys':
      return unknownKeys(issue.keys, allowedKeys(schema, issue.path));
    case 'invalid_type':
      if (valueAt(input, issue.path) === undefined) return { de: 'fehlt; dieses Feld ist erforderlich', en: 'is missing; this field is required' };
      return { de: `muss ${typeName(issue.expected).de} sein`, en: `must be ${typeName(issue.expected).en}` };
    case 'invalid_value': {
      const hint = valueSuggestion(valueAt(input, issue.path), issue.values);
      return {
        de: `muss einer dieser Werte sein: ${quoted(issue.values)}${hint ? `; schreiben Sie '${hint}'` : ''}`,
        en: `must be one of ${quoted(issue.values)}${hint ? `; write '${hint}'` : ''}`,
      };
    }
    case 'too_small':
      return issue.origin === 'string' && Number(issue.minimum) === 1
        ? { de: 'darf nicht leer sein', en: 'must not be empty' }
        : { de: `muss mindestens ${issue.minimum}${unitOf(issue.origin).de} ${issue.origin === 'string' ? 'lang ' : ''}sein`, en: `must be at least ${issue.minimum}${unitOf(issue.origin).en}` };
    case 'too_big':
      return { de: `darf höchstens ${issue.maximum}${unitOf(issue.origin).de} ${issue.origin === 'string' ? 'lang ' : ''}sein`, en: `must be at most ${issue.maximum}${unitOf(issue.origin).en}` };
    case 'invalid_format':
      return issue.format === 'datetime'
        ? { de: 'muss ein Zeitpunkt nach ISO 8601 mit Zeitzone sein, z. B. 2026-03-01T09:30:00+01:00', en: 'must be an ISO 8601 date-time with offset, e.g. 2026-03-01T09:30:00+01:00' }
        : { de: 'hat nicht das erwartete Format', en: 'does not have the expected format' };
    default:
      return { de: 'ist ungültig', en: 'is invalid' };
  }
}

function unknownKeys(keys: string[], allowed: string[]): Localized {
  const names = quoted(keys);
  const hints = keys.map((k) => suggestion(k, allowed)).filter((s): s is string => s !== undefined);
  const allowedList = allowed.length ? quoted(allowed) : undefined;
  return {
    de: `${keys.length > 1 ? 'sind unbekannte Felder' : 'ist ein unbekanntes Feld'} (${names})${hints.length ? `; meinten Sie ${quoted(hints)}?` : ''}${allowedList ? ` Erlaubt sind: ${allowedList}.` : ''}`,
    en: `${keys.length > 1 ? 'are unknown fields' : 'is an unknown field'} (${names})${hints.length ? `; did you mean ${quoted(hints)}?` : ''}${allowedList ? ` Allowed: ${allowedList}.` : ''}`,
  };
}

/** The allowed field closest to `key`: a known synonym, the same name in other case or spelling, or a small typo. */
function suggestion(key: string, allowed: string[]): string | undefined {
  const folded = fold(key);
  const synonym = SYNONYMS[folded];
  if (synonym && allowed.includes(synonym)) return synonym;
  const ranked = allowed.map((a) => ({ a, d: distance(folded, fold(a)) })).sort((x, y) => x.d - y.d)[0];
  return ranked && ranked.d <= Math.max(1, Math.floor(folded.length / 4)) ? ranked.a : undefined;
}

/** The accepted spelling of a value written differently: other case or punctuation, or a known other name. */
function valueSuggestion(value: unknown, allowed: readonly unknown[]): string | undefined {
  if (typeof value !== 'string') return undefined;
  const folded = fold(value);
  const same = allowed.find((a) => typeof a === 'string' && fold(a) === folded);
  if (typeof same === 'string') return same;
  const synonym = VALUE_SYNONYMS[folded];
  return synonym && allowed.includes(synonym) ? synonym : undefined;
}

function fold(key: string): string {
  return key.toLowerCase().replace(/[-_\s.]/g, '');
}

/** Edit distance counting a swap of neighbours as one edit (optimal string alignment); field names are short. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The keys the object schema at `path` accepts (through optional and default wrappers). */
function allowedKeys(schema: z.ZodType, path: PropertyKey[]): string[] {
  let node: unknown = schema;
  for (const segment of [...path, undefined]) {
    while (node && typeof (node as { unwrap?: unknown }).unwrap === 'function' && !(node instanceof z.ZodObject)) node = (node as { unwrap(): unknown }).unwrap();
    if (!(node instanceof z.ZodObject)) return [];
    if (segment === undefined) return Object.keys(node.shape);
    node = node.shape[String(segment)];
  }
  return [];
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let value = input;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

function typeName(expected: string): Localized {
  const names: Record<string, Localized> = {
    string: { de: 'ein Text', en: 'a string' },
    number: { de: 'eine Zahl', en: 'a number' },
    int: { de: 'eine ganze Zahl', en: 'a whole number' },
    boolean: { de: 'true oder false', en: 'true or false' },
    array: { de: 'eine Liste', en: 'a list' },
    object: { de: 'ein Objekt', en: 'an object' },
  };
  return names[expected] ?? { de: `vom Typ ${expected}`, en: `of type ${expected}` };
}

function unitOf(origin: string): Localized {
  if (origin === 'string') return { de: ' Zeichen', en: ' characters' };
  if (origin === 'array' || origin === 'set') return { de: ' Einträge', en: ' entries' };
  return { de: '', en: '' };
}

function quoted(values: readonly unknown[]): string {
  return values.map((v) => `'${String(v)}'`).join(', ');
}
