/** The viewer's bundle (tools/bundle-app.ts); `tsx viewer/build.ts` writes viewer/dist. */
import { pathToFileURL } from 'node:url';
import { bundleApp, writeDist } from '../tools/bundle-app.ts';
import type { StaticAssets } from '../src/api/static-app.ts';

const here = new URL('./', import.meta.url);

export function bundleViewer(): Promise<StaticAssets> {
  return bundleApp({ dir: here, html: ['index.html'], entries: [{ in: 'src/main.ts', out: 'viewer' }, { in: 'viewer.css', out: 'viewer' }] });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await writeDist(await bundleViewer(), new URL('dist/', here));
