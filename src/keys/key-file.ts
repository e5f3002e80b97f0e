import { randomUUID } from 'node:crypto';
import { chmod, link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Development keys: read a JSON key file, or create it once (dir 0700, file 0600).
 * The file appears complete or not at all (written aside, then hard-linked), and an instance
 * starting at the same moment never replaces keys another one wrote first.
 */
export async function loadOrCreateKeyFile<T>(file: string, create: () => Promise<T>): Promise<T> {
  const existing = await readJson<T>(file);
  if (existing !== undefined) return existing;
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const aside = `${file}.${randomUUID()}.tmp`;
  await writeFile(aside, JSON.stringify(await create(), null, 2), { mode: 0o600, flag: 'wx' });
  try {
    await link(aside, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await rm(aside, { force: true });
  }
  return (await readJson<T>(file))!;
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
