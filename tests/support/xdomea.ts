/**
 * Independent checks of xdomea messages: the official xdomea 3.0.0 schemas (never copied into the
 * repository), validated by xmllint (libxml2) and by Java's javax.xml.validation; ZIPs are read by
 * Python's zipfile and Info-ZIP's unzip, not by our own code.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Response } from 'supertest';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const JAVA_VALIDATOR = fileURLToPath(new URL('./XsdValidate.java', import.meta.url));

/**
 * The folder holding xdomea_3.0.0/, xoev/: XDOMEA_SCHEMA_DIR, else ../shared/xdomea/schemes beside
 * the repository, else the machine's /work/shared copy (CI clones the repository elsewhere).
 */
export function schemeDir(): string {
  const candidates = [process.env.XDOMEA_SCHEMA_DIR, path.resolve(REPO, '../shared/xdomea/schemes'), '/work/shared/xdomea/schemes'].filter(
    (c): c is string => Boolean(c),
  );
  const found = candidates.find((c) => existsSync(path.join(c, 'xdomea_3.0.0', 'xdomea.xsd')));
  if (!found) {
    throw new Error(
      `The xdomea 3.0.0 schemas were not found (looked in: ${candidates.join(', ')}). ` +
        'Set XDOMEA_SCHEMA_DIR to the folder that holds xdomea_3.0.0/xdomea.xsd and xoev/.',
    );
  }
  return found;
}

export const xdomeaXsd = () => path.join(schemeDir(), 'xdomea_3.0.0', 'xdomea.xsd');

export interface Verdict {
  valid: boolean;
  output: string;
}

/** `xmllint --noout --schema xdomea.xsd file` for each file. */
export function xmllint(files: string[]): Verdict[] {
  return files.map((file) => {
    const run = spawnSync('xmllint', ['--noout', '--schema', xdomeaXsd(), file], { encoding: 'utf8' });
    if (run.error) throw run.error;
    return { valid: run.status === 0, output: `${run.stdout}${run.stderr}` };
  });
}

/** Java's javax.xml.validation over all files in one JVM (the single-file launch compiles the validator). */
export function javaValidate(files: string[]): Verdict[] {
  const run = spawnSync('java', [JAVA_VALIDATOR, xdomeaXsd(), ...files], { encoding: 'utf8' });
  if (run.error) throw run.error;
  const lines = run.stdout.split('\n');
  return files.map((file) => {
    const line = lines.find((l) => l.startsWith(`VALID ${file}`) || l.startsWith(`INVALID ${file}:`));
    if (!line) throw new Error(`java validator gave no verdict for ${file}: ${run.stdout}${run.stderr}`);
    return { valid: line.startsWith('VALID '), output: line };
  });
}

export interface Unpacked {
  /** Entry names in ZIP order. */
  names: string[];
  /** Bytes of every entry, by name. */
  files: Map<string, Buffer>;
}

const PY_UNZIP = `
import sys, zipfile, os
z = zipfile.ZipFile(sys.argv[1])
bad = z.testzip()
if bad: sys.exit("CRC mismatch in " + bad)
for info in z.infolist():
    print(info.filename)
z.extractall(sys.argv[2])
`;

/** Unpacks with Python's zipfile (CRC-checked) after Info-ZIP's `unzip -t` tested the archive. */
export async function unpack(zip: Buffer): Promise<Unpacked> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vsc-xdomea-'));
  try {
    const zipPath = path.join(dir, 'message.zip');
    await writeFile(zipPath, zip);
    execFileSync('unzip', ['-tq', zipPath]);
    const out = path.join(dir, 'out');
    const names = execFileSync('/usr/bin/python3', ['-c', PY_UNZIP, zipPath, out], { encoding: 'utf8' }).trim().split('\n');
    const files = new Map<string, Buffer>();
    for (const name of await readdir(out)) files.set(name, await readFile(path.join(out, name)));
    return { names, files };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Validates XML texts with both validators; the files live only for the check. */
export async function validateBoth(xmls: string[]): Promise<{ xmllint: Verdict[]; java: Verdict[] }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vsc-xdomea-xml-'));
  try {
    const files = await Promise.all(
      xmls.map(async (xml, i) => {
        const file = path.join(dir, `message-${i}.xml`);
        await writeFile(file, xml);
        return file;
      }),
    );
    return { xmllint: xmllint(files), java: javaValidate(files) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** supertest keeps unknown media types as text; a ZIP is bytes (a problem answer stays JSON). */
export function binary(res: Response, done: (err: Error | null, body: unknown) => void): void {
  // supertest hands the parser the raw response stream (typed as its Response).
  const stream = res as unknown as NodeJS.ReadableStream & { headers: Record<string, string | undefined> };
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => {
    const bytes = Buffer.concat(chunks);
    done(null, /json/.test(stream.headers['content-type'] ?? '') ? JSON.parse(bytes.toString('utf8')) : bytes);
  });
}
