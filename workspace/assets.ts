/** The workspace's asset table: the files of its bundle, where `npm run build` writes them, and how to bundle them now. */
export const WORKSPACE_FILES = ['index.html', 'callback.html', 'workspace.js', 'callback.js', 'workspace.css'] as const;

export const WORKSPACE_DIST = new URL('./dist/', import.meta.url);

/** Bundles with esbuild (a dev dependency), so it is loaded only outside production. */
export const bundleWorkspaceNow = async () => (await import('./build.ts')).bundleWorkspace();
