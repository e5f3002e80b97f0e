import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { envSchema } from '../../src/config.ts';
import { configTable, README_PATH, withConfigTable } from '../../tools/config-docs.ts';

describe("README's configuration table (tools/config-docs.ts, from src/config.ts)", () => {
  it('is what `npm run gen:config-docs` generates from the zod schema now', async () => {
    const readme = await readFile(README_PATH, 'utf8');
    expect(readme).toBe(withConfigTable(readme));
  });

  it('names every variable the schema reads, each once', () => {
    const firstCells = configTable().split('\n').slice(2).map((row) => row.split(' | ')[0]!);
    const named = firstCells.flatMap((cell) => [...cell.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]));
    expect(named).toEqual(Object.keys(envSchema.shape));
  });

  it("shows zod's default, its range and the .meta() wording in one row", () => {
    expect(configTable()).toContain('| `PORT` | `8080` | integer 0–65535 | Port to listen on (`0`: any free port). |');
    expect(configTable()).toContain('| `STORAGE_KEYS` / `STORAGE_KEYS_FILE` | generated in dev | text |');
    expect(configTable()).toContain('| `METRICS_PORT`, `METRICS_HOST` | –, `HOST` | integer 0–65535, text |');
  });

  it('refuses a README without the markers instead of appending a table', () => {
    expect(() => withConfigTable('# README\n')).toThrow(/markers/);
  });
});
