import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Development keys: read a JSON key file, or create it once (dir 0700, file 0600).
 * `wx` makes a concurrent second starter fail instead of overwriting; it then reads the winner's file.
 */
export async function loadOrCreateKeyFile<T>(file: string, create: () => Promise<T>): Promise<T> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const value = await create();
  try {
    await writeFile(file, JSON.stringify(value, null, 2), { mode: 0o600, flag: 'wx' });
    return value;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return JSON.parse(await readFile(file, 'utf8')) as T;
  }
}
