/**
 * Writes README's configuration table from the zod schema of src/config.ts (`npm run gen:config-docs`):
 * default and range from zod, the wording from each variable's `.meta()`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { envSchema } from '../src/config.ts';

export const README_PATH = fileURLToPath(new URL('../README.md', import.meta.url));
const BEGIN = '<!-- config-table: generated from src/config.ts by `npm run gen:config-docs`; edit there -->';
const END = '<!-- /config-table -->';

/** The parts of a property of z.toJSONSchema(envSchema) the table shows. */
interface Property extends z.core.GlobalMeta {
  type?: string;
  enum?: Array<string | number>;
  format?: string;
  pattern?: string;
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  default?: unknown;
}

/** Output mode: a `stringbool` shows as the boolean it becomes; unset optionals carry their meta all the same. */
function properties(): Array<[string, Property]> {
  const schema = z.toJSONSchema(envSchema, { io: 'output', unrepresentable: 'any' }) as { properties: Record<string, Property> };
  return Object.entries(schema.properties);
}

const code = (value: unknown) => `\`${String(value)}\``;

/** zod's integers carry the safe-integer bounds; only bounds of our own are worth a reader's time. */
const own = (bound: number | undefined) => (bound !== undefined && Math.abs(bound) < Number.MAX_SAFE_INTEGER ? bound : undefined);

function numberRange(p: Property): string {
  const integer = p.type === 'integer';
  const exclusive = own(p.exclusiveMinimum);
  const min = own(p.minimum) ?? (integer && exclusive !== undefined ? exclusive + 1 : undefined);
  const max = own(p.maximum);
  const kind = integer ? 'integer' : 'number';
  if (min !== undefined && max !== undefined) return `${kind} ${min}–${max}`;
  if (min !== undefined) return `${kind} ≥ ${min}`;
  if (exclusive !== undefined) return `${kind} > ${exclusive}`;
  return max !== undefined ? `${kind} ≤ ${max}` : kind;
}

function textRange(p: Property): string {
  const min = p.minLength && p.minLength > 1 ? p.minLength : undefined;
  if (min !== undefined && p.maxLength !== undefined) return `text of ${min}–${p.maxLength} characters`;
  if (min !== undefined) return `text of at least ${min} characters`;
  return p.maxLength !== undefined ? `text of at most ${p.maxLength} characters` : 'text';
}

/** What a variable accepts, read off its zod schema. */
function values(p: Property): string {
  if (p.enum) return p.enum.map(code).join(', ');
  if (p.type === 'boolean') return `${code(true)}, ${code(false)}`;
  if (p.type === 'integer' || p.type === 'number') return numberRange(p);
  if (p.format === 'uri') return 'URL';
  if (p.pattern) return `text matching ${code(p.pattern)}`;
  return textRange(p);
}

const defaultOf = (p: Property) => (p.default !== undefined ? code(p.default) : (p.unset ?? '–'));

/** Cells of a row's members: one when they agree, else each in the order the names are listed. */
const joined = (cells: string[]) => (cells.every((c) => c === cells[0]) ? cells[0]! : cells.join(', '));

const cell = (text: string) => text.replace(/\|/g, '\\|');

/** The table in Markdown: one row per setting, its other forms (`_FILE`, `_DIR`) and companions listed in it. */
export function configTable(): string {
  const all = properties();
  const lines = ['| Variable | Default | Values | Meaning |', '|---|---|---|---|'];
  for (const [name, p] of all) {
    if (p.formOf || p.rowWith) continue;
    if (!p.description) throw new Error(`src/config.ts: ${name} has no description in .meta()`);
    const forms = (of: string) => [of, ...all.filter(([, q]) => q.formOf === of).map(([n]) => n)].map(code).join(' / ');
    const members: Array<[string, Property]> = [[name, p], ...all.filter(([, q]) => q.rowWith === name)];
    const names = members.map(([n]) => forms(n)).join(', ');
    lines.push(`| ${names} | ${joined(members.map(([, q]) => defaultOf(q)))} | ${cell(joined(members.map(([, q]) => values(q))))} | ${cell(p.description)} |`);
  }
  return lines.join('\n');
}

/** The README with the table between its markers replaced by the one generated now. */
export function withConfigTable(readme: string): string {
  const begin = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`README.md: the markers ${BEGIN} … ${END} are missing`);
  return `${readme.slice(0, begin + BEGIN.length)}\n${configTable()}\n${readme.slice(end)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await writeFile(README_PATH, withConfigTable(await readFile(README_PATH, 'utf8')));
  console.log(`wrote the configuration table of ${README_PATH}`);
}
