import type { Config } from './config.ts';
import type { DocumentService } from './documents/service.ts';
import { loadKey } from './keys/key-source.ts';
import { createViewTickets, VIEW_TICKET_KEY } from './views/tickets.ts';
import { ByteCache } from './views/byte-cache.ts';
import { loadViewerAssets, type ViewerAssets } from './api/viewer.ts';
import { loadWorkspaceAssets } from './api/workspace.ts';
import type { StaticAssets } from './api/static-app.ts';
import type { ViewRecorder } from './views/recorder.ts';
import { ViewService, type PageRenderer } from './views/service.ts';

export interface ViewParts {
  documents: DocumentService;
  /** The processing pool. */
  renderer: PageRenderer;
  /** Where views are recorded: the audit trail (tests may keep them in memory). */
  recorder: ViewRecorder;
  now?: () => number;
}

/** The viewer's and the workspace's dependencies of the app, from the configuration. */
export async function composeViews(config: Config, parts: ViewParts): Promise<{ views: ViewService; viewerAssets: ViewerAssets; workspaceAssets: StaticAssets }> {
  const production = config.env === 'production';
  const key = await loadKey(config.viewTicketKey, VIEW_TICKET_KEY);
  const views = new ViewService({
    documents: parts.documents,
    renderer: parts.renderer,
    tickets: await createViewTickets(key, config.viewTicketTtlMs, parts.now),
    recorder: parts.recorder,
    cache: new ByteCache(config.viewCacheBytes),
    ...(parts.now ? { now: parts.now } : {}),
  });
  return { views, viewerAssets: await loadViewerAssets(production), workspaceAssets: await loadWorkspaceAssets(production) };
}
