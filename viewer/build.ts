/**
 * Bundles the viewer with esbuild: in memory for development and tests, into viewer/dist for
 * production images (`npm run build`), so the runtime needs no build tools.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { VIEWER_FILES, type ViewerAssets } from '../src/api/viewer.ts';

const here = new URL('./', import.meta.url);

export async function bundleViewer(): Promise<ViewerAssets> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('src/main.ts', here)), fileURLToPath(new URL('viewer.css', here))],
    bundle: true,
    format: 'esm',
    target: ['chrome100', 'safari15', 'firefox100'],
    minify: true,
    write: false,
    outdir: 'out',
    logLevel: 'silent',
  });
  const output = (ext: string) => Buffer.from(result.outputFiles.find((f) => f.path.endsWith(ext))!.contents);
  return new Map([
    ['index.html', { body: await readFile(new URL('index.html', here)), type: VIEWER_FILES['index.html'] }],
    ['viewer.js', { body: output('.js'), type: VIEWER_FILES['viewer.js'] }],
    ['viewer.css', { body: output('.css'), type: VIEWER_FILES['viewer.css'] }],
  ]);
}

async function writeDist(): Promise<void> {
  const dist = new URL('dist/', here);
  await mkdir(dist, { recursive: true });
  for (const [name, { body }] of await bundleViewer()) await writeFile(new URL(name, dist), body);
  process.stdout.write(`viewer bundled into ${fileURLToPath(dist)}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await writeDist();
