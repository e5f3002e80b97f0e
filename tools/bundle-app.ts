/**
 * Bundles a browser app (viewer/, workspace/) with esbuild: in memory for development and tests, into
 * <app>/dist for production images (`npm run build`), so the runtime needs no build tools.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { ASSET_TYPES, type StaticAssets } from '../src/api/static-app.ts';

export interface AppSources {
  /** The app's folder (a file URL ending in /). */
  dir: URL;
  /** Pages copied as they are. */
  html: string[];
  /** Output name without extension → source file (TypeScript or CSS), relative to dir. */
  entries: Array<{ in: string; out: string }>;
}

export async function bundleApp(sources: AppSources): Promise<StaticAssets> {
  const result = await build({
    entryPoints: sources.entries.map((e) => ({ in: fileURLToPath(new URL(e.in, sources.dir)), out: e.out })),
    bundle: true,
    format: 'esm',
    target: ['chrome100', 'safari15', 'firefox100'],
    minify: true,
    write: false,
    outdir: 'out',
    logLevel: 'silent',
  });
  const assets = new Map<string, { body: Buffer; type: string }>();
  for (const name of sources.html) assets.set(name, { body: await readFile(new URL(name, sources.dir)), type: ASSET_TYPES.html });
  for (const file of result.outputFiles) {
    const name = file.path.split('/').pop()!;
    assets.set(name, { body: Buffer.from(file.contents), type: ASSET_TYPES[name.endsWith('.css') ? 'css' : 'js'] });
  }
  return assets;
}

/** Writes the bundle into <dir>/dist (or `into`), for production. */
export async function writeDist(assets: StaticAssets, into: URL): Promise<void> {
  await mkdir(into, { recursive: true });
  for (const [name, { body }] of assets) await writeFile(new URL(name, into), body);
  process.stdout.write(`bundled into ${fileURLToPath(into)}\n`);
}
