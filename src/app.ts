import express, { type RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Authenticator } from './auth/principal.ts';
import type { DevIssuer } from './auth/dev-issuer.ts';
import type { DocumentService } from './documents/service.ts';
import type { DocumentRecord } from './documents/records.ts';
import type { AuditService } from './audit/service.ts';
import type { JwkSet } from './keys/ingest-keys.ts';
import type { Metrics } from './kernel/metrics.ts';
import type { MetadataStore } from './metadata/metadata-store.ts';
import type { ObjectStore } from './storage/object-store.ts';
import type { PartDecryptor } from './documents/capture-parts.ts';
import type { ObjectUploadStore } from './uploads/upload-store.ts';
import type { ViewService } from './views/service.ts';
import type { XdomeaExport } from './xdomea/export.ts';
import type { Admission } from './api/middleware/admission.ts';
import { viewerRouter, type ViewerAssets } from './api/viewer.ts';
import { workspaceRouter } from './api/workspace.ts';
import type { StaticAssets } from './api/static-app.ts';
import { viewerApiRouter, viewTicketsRouter } from './api/views.ts';
import { healthRouter } from './api/health.ts';
import { metricsRouter } from './api/metrics.ts';
import { keysRouter } from './api/keys.ts';
import { devTokenRouter } from './api/dev-token.ts';
import { openapiRouter } from './api/openapi.ts';
import { documentsRouter } from './api/documents.ts';
import { auditRouter } from './api/audit.ts';
import { uploadsRouter } from './api/uploads.ts';
import { xdomeaRouter } from './api/xdomea.ts';
import { bearerAuth } from './api/middleware/auth.ts';
import { encryptedSizeBound } from './crypto/jwe-size.ts';
import type { LingeringClose } from './api/middleware/lingering-close.ts';
import { notFoundHandler, problemHandler } from './api/middleware/problem.ts';
import { requestLog } from './api/middleware/request-log.ts';
import { securityHeaders } from './api/middleware/security-headers.ts';

export interface AppDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  store: ObjectStore;
  /** The metadata database (records, feed, claims). */
  metadata: Pick<MetadataStore, 'ping'>;
  documents: DocumentService;
  /** Reading the tamper-evident audit trail. */
  audit: AuditService;
  authenticator: Authenticator;
  /** Present in development mode only. */
  devIssuer?: DevIssuer;
  jwks: () => JwkSet;
  decryptor: PartDecryptor;
  /** The viewer's use cases (tickets, watermarked pages) and its bundled page. */
  views: ViewService;
  viewerAssets: ViewerAssets;
  /** The workspace's bundled pages (/app). */
  workspaceAssets: StaticAssets;
  /** Resumable uploads (tus) in the shared store. */
  uploads: ObjectUploadStore;
  /** Handover as xdomea 3.0.0 messages. */
  xdomea: XdomeaExport<DocumentRecord>;
  /** The one admission counter of captures and resumable uploads. */
  admission: Admission;
  /** The admission of small JSON bodies (reviews, acknowledgements, deletions, dev tokens). */
  smallBodyAdmission: Admission;
  /** The admission of page and thumbnail renders (no body: slots per reader and in all). */
  renderAdmission: Admission;
  /** Closes connections refused mid-body so the client reads the answer before the close. */
  lingering: LingeringClose;
}

/** The express app without listen, so tests drive exactly what production serves. */
export function createApp(deps: AppDeps): express.Express {
  const { config } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(requestLog(deps.logger));
  app.use(securityHeaders({ hsts: config.publicUrl?.startsWith('https:') ?? false }));
  app.use(timing(deps.metrics));
  app.use(healthRouter({ store: deps.store, metadata: deps.metadata }));
  // On this listener only behind its token; METRICS_PORT serves it on a listener of its own (createMetricsApp).
  if (config.metrics.token !== undefined && config.metrics.port === undefined) app.use(metricsRouter(deps.metrics.registry, config.metrics.token));
  app.use(keysRouter(deps.jwks));
  if (deps.devIssuer) app.use(devTokenRouter(deps.devIssuer, deps.smallBodyAdmission));
  app.use(openapiRouter());
  // Ticket-authenticated, outside /v1's bearer auth.
  app.use(viewerRouter(deps.viewerAssets));
  app.use(viewerApiRouter({ views: deps.views, renderAdmission: deps.renderAdmission }));
  app.use(workspaceRouter(deps.workspaceAssets, workspaceSignIn(config)));
  app.use('/v1', bearerAuth(deps.authenticator));
  app.use(viewTicketsRouter({ views: deps.views, renderAdmission: deps.renderAdmission, publicUrl: config.publicUrl }));
  app.use(
    documentsRouter({
      documents: deps.documents,
      decryptor: deps.decryptor,
      uploads: deps.uploads,
      requireEncryption: config.requireEncryption,
      uploadLimits: {
        maxFileBytes: config.limits.maxFileBytes,
        maxFiles: config.limits.maxFiles,
        maxRequestBytes: config.limits.maxRequestBytes,
      },
      admission: deps.admission,
      smallBodyAdmission: deps.smallBodyAdmission,
    }),
  );
  app.use(auditRouter(deps.audit));
  app.use(xdomeaRouter({ xdomea: deps.xdomea, smallBodyAdmission: deps.smallBodyAdmission }));
  app.use(
    uploadsRouter({
      uploads: deps.uploads,
      maxBytes: config.uploads.maxBytes ?? encryptedSizeBound(config.limits.maxFileBytes),
      chunkBytes: config.uploads.chunkBytes,
      admission: deps.admission,
    }),
  );
  app.use(notFoundHandler);
  app.use(problemHandler(deps.logger, deps.lingering));
  return app;
}

/** The metrics listener (METRICS_PORT): only /metrics, with the token when one is configured. */
export function createMetricsApp(deps: Pick<AppDeps, 'config' | 'metrics' | 'logger' | 'lingering'>): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(metricsRouter(deps.metrics.registry, deps.config.metrics.token));
  app.use(notFoundHandler);
  app.use(problemHandler(deps.logger, deps.lingering));
  return app;
}

/** How the workspace signs in: at the OpenID provider, or (development) through the dev issuer. */
function workspaceSignIn(config: Config) {
  return {
    devLogin: config.devMode,
    // Dev tokens name their claims plainly; a provider's paths are configured (OIDC_*_CLAIM).
    claims: config.devMode ? { roles: 'roles', units: 'units', name: 'name' } : config.claims,
    ...(config.oidc ? { oidc: { issuer: config.oidc.issuer, clientId: config.workspace.clientId, scope: config.workspace.scope } } : {}),
  };
}

/** Request durations by route template (never the raw path, which holds ids). */
function timing(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const end = metrics.httpDuration.startTimer({ method: req.method });
    res.once('finish', () => end({ route: req.route?.path ?? 'unmatched', status: String(res.statusCode) }));
    next();
  };
}
