/** The workspace's bundle (tools/bundle-app.ts); `tsx workspace/build.ts` writes workspace/dist. */
import { pathToFileURL } from 'node:url';
import { bundleApp, writeDist } from '../tools/bundle-app.ts';
import type { StaticAssets } from '../src/api/static-app.ts';

const here = new URL('./', import.meta.url);

export function bundleWorkspace(): Promise<StaticAssets> {
  return bundleApp({
    dir: here,
    html: ['index.html', 'callback.html'],
    entries: [
      { in: 'src/main.ts', out: 'workspace' },
      { in: 'src/callback.ts', out: 'callback' },
      { in: 'workspace.css', out: 'workspace' },
    ],
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await writeDist(await bundleWorkspace(), new URL('dist/', here));
