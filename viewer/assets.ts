/** The viewer's asset table: the files of its bundle, where `npm run build` writes them, and how to bundle them now. */
export const VIEWER_FILES = ['index.html', 'viewer.js', 'viewer.css'] as const;

export const VIEWER_DIST = new URL('./dist/', import.meta.url);

/** Bundles with esbuild (a dev dependency), so it is loaded only outside production. */
export const bundleViewerNow = async () => (await import('./build.ts')).bundleViewer();
