import path from 'node:path';
import { z } from 'zod';
import { parseS3Endpoint } from './storage/s3-endpoint.ts';
import type { S3Config } from './storage/s3-store.ts';
import type { OidcConfig } from './auth/oidc.ts';
import type { KeySource } from './keys/key-source.ts';
import { firstNonLatin } from './xdomea/latin.ts';
import type { Party as XdomeaParty } from './xdomea/message.ts';

/** Text that goes into xdomea messages: XÖV String.Latin 1.1 only. */
const xoevText = z.string().trim().min(1).max(200).refine((s) => !firstNonLatin(s), 'must use only characters of XÖV String.Latin 1.1 (latinchars)');

declare module 'zod' {
  /** What README's configuration table says beyond the schema (`npm run gen:config-docs`, tools/config-docs.ts). */
  interface GlobalMeta {
    /** What an unset variable without a zod default means, e.g. a value computed from others. */
    unset?: string;
    /** Another form of that variable's setting (a file or directory instead of the value): one row, one meaning. */
    formOf?: string;
    /** Listed in that variable's row, which describes both. */
    rowWith?: string;
  }
}

/**
 * Every environment variable the service reads: range and default in zod, the README's wording in
 * `.meta()`; README's configuration table is generated from this (`npm run gen:config-docs`).
 */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development').meta({
    description: '`production` requires an OIDC issuer and configured keys, and turns on `REQUIRE_ENCRYPTION`.',
  }),
  HOST: z.string().min(1).default('127.0.0.1').meta({ description: 'Interface to listen on.' }),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080).meta({ description: 'Port to listen on (`0`: any free port).' }),
  PUBLIC_URL: z.url().optional().meta({
    description: "External base URL, used in links (viewer URLs). Required in production, so links never come from a request's Host header.",
    unset: '`http://HOST:PORT`',
  }),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').meta({ description: 'pino level (`silent` to turn logs off).' }),
  DATA_DIR: z.string().min(1).default('./data').meta({ description: 'Embedded store and development keys.' }),

  STORAGE_BACKEND: z.enum(['fs', 's3']).default('fs').meta({ description: '`fs` (files under `DATA_DIR/objects`) or `s3`.' }),
  S3_ENDPOINT: z.url().optional().meta({ description: 'S3 URL, e.g. `http://127.0.0.1:9000` (required for `s3`).' }),
  S3_REGION: z.string().min(1).default('us-east-1').meta({ description: 'S3 region.' }),
  S3_BUCKET: z.string().min(3).max(63).default('vs-capture').meta({ description: 'Bucket; created when missing.' }),
  S3_ACCESS_KEY: z.string().min(1).optional().meta({ description: 'S3 credentials (required for `s3`).' }),
  S3_SECRET_KEY: z.string().min(1).optional().meta({ rowWith: 'S3_ACCESS_KEY' }),
  STORAGE_KEYS: z.string().min(1).optional().meta({
    description: 'Key-encryption keys for data at rest, objects and database values (see docs/storage-format.md).',
    unset: 'generated in dev',
  }),
  STORAGE_KEYS_FILE: z.string().min(1).optional().meta({ formOf: 'STORAGE_KEYS' }),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL').optional().meta({
    description: 'PostgreSQL server for the metadata (`postgres://user:password@host:5432/db`); unset: embedded PGlite under `DATA_DIR/metadata`, one process only (docs/metadata-store.md). Several instances need a server.',
  }),
  SEARCH_KEYS: z.string().min(1).optional().meta({
    description: 'Keys of the blind search indexes, same JSON as `STORAGE_KEYS`; the last writes, all are asked (rotation). Required in production.',
    unset: 'generated in dev',
  }),
  SEARCH_KEYS_FILE: z.string().min(1).optional().meta({ formOf: 'SEARCH_KEYS' }),

  INGEST_KEYS: z.string().min(1).optional().meta({ description: 'Private JWKS (or a directory of JWK files) for decrypting uploads.', unset: 'generated in dev' }),
  INGEST_KEYS_DIR: z.string().min(1).optional().meta({ formOf: 'INGEST_KEYS' }),
  REQUIRE_ENCRYPTION: z.stringbool().optional().meta({ description: 'Refuse parts that are not JWE; production refuses `false`.', unset: '`true` in production' }),

  METRICS_TOKEN: z.string().min(16).optional().meta({
    description: "Serves `GET /metrics` on the API listener, only to `Authorization: Bearer <token>` (at least 16 characters; Prometheus's `authorization` scrape setting).",
  }),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional().meta({
    description: 'Serves `/metrics` on a listener of its own instead (with the token too, when set). Neither variable: `/metrics` is not served.',
  }),
  METRICS_HOST: z.string().min(1).optional().meta({ rowWith: 'METRICS_PORT', unset: '`HOST`' }),

  OIDC_ISSUER: z.url().optional().meta({ description: 'Token issuer; unset (and not production) = development token issuer.' }),
  OIDC_AUDIENCE: z.string().min(1).optional().meta({ description: 'Expected `aud` (required with `OIDC_ISSUER`).' }),
  OIDC_JWKS_URL: z.url().optional().meta({ description: "Issuer's key set; default from `/.well-known/openid-configuration`.", unset: 'discovered' }),
  OIDC_ROLES_CLAIM: z.string().min(1).default('realm_access.roles').meta({ description: "Dotted path of the roles claim (Keycloak's default)." }),
  OIDC_UNITS_CLAIM: z.string().min(1).default('units').meta({ description: 'Dotted path of the units (Dienststellen) claim.' }),
  OIDC_NAME_CLAIM: z.string().min(1).default('name').meta({ description: "Claim with the person's display name." }),
  OIDC_TIMEOUT_SECONDS: z.coerce.number().positive().default(5).meta({
    description: 'Each request to the identity provider (discovery, key set) is abandoned after this. Failed attempts back off (1 s, 2 s, … 60 s); the last good key set is kept; without one, authenticated requests answer `503 idp_unavailable` with `Retry-After`. In production the discovered `issuer` must equal `OIDC_ISSUER` and its `jwks_uri` must be https.',
  }),
  OIDC_JWKS_COOLDOWN_SECONDS: z.coerce.number().min(0).default(30).meta({
    description: 'A token with an unknown key id refetches the key set at most this often (key rotation; random key ids cannot hammer the provider).',
  }),
  OIDC_CLOCK_TOLERANCE_SECONDS: z.coerce.number().int().min(0).max(300).default(30).meta({ description: 'Allowed clock difference for `exp`, `nbf`, `iat`.' }),
  WORKSPACE_CLIENT_ID: z.string().min(1).max(200).default('vs-capture-workspace').meta({
    description: "The workspace's public client at the provider (authorization code + PKCE, no secret; redirect URI and post-logout redirect URI `<PUBLIC_URL>/app/callback.html`, web origin `<PUBLIC_URL>`).",
  }),
  WORKSPACE_SCOPE: z.string().min(1).max(500).default('openid offline_access').meta({
    description: 'Scopes the workspace asks for; with `offline_access` it also sends `prompt=consent` (OpenID Connect Core §11) and renews by refresh token.',
  }),

  MAX_FILE_BYTES: z.coerce.number().int().positive().default(100 * 1024 * 1024).meta({ description: 'Largest plaintext file part (100 MiB).' }),
  MAX_FILES: z.coerce.number().int().positive().max(1000).default(100).meta({ description: 'Most file parts in one capture.' }),
  MAX_REQUEST_BYTES: z.coerce.number().int().positive().default(256 * 1024 * 1024).meta({
    description: 'Largest capture request body (256 MiB); larger scans use resumable uploads.',
  }),
  MAX_CONCURRENT_UPLOADS: z.coerce.number().int().positive().default(8).meta({
    description: 'Uploads admitted at once — captures and resumable-upload requests (any method with a body on any `/v1/uploads` path) share this one counter; beyond it 503 with `Retry-After`. Small JSON bodies (reviews, acknowledgements, deletions, dev tokens) have a counter of their own, four times as large, so they never wait behind uploads.',
  }),
  MAX_CONCURRENT_UPLOADS_PER_USER: z.coerce.number().int().positive().optional().meta({
    description: "One caller's share of those slots (by token subject; before authentication by address), so one user cannot starve the rest.",
    unset: 'a quarter of `MAX_CONCURRENT_UPLOADS`, at least 1',
  }),
  MAX_BUFFERED_BYTES: z.coerce.number().int().positive().optional().meta({
    description: "Bytes all admitted requests may hold at once: each capture's Content-Length plus the resumable uploads it names (counted before they are read), each upload PATCH up to one chunk; beyond it 503.",
    unset: '`MAX_CONCURRENT_UPLOADS` × `MAX_REQUEST_BYTES`',
  }),
  MIN_BODY_BYTES_PER_SECOND: z.coerce.number().int().positive().default(4096).meta({
    description: 'A body arriving slower than this over a whole window (or not at all) is cut with `408 request_timeout` and its slot freed; a window in which the service itself held the body back does not count.',
  }),
  BODY_RATE_WINDOW_SECONDS: z.coerce.number().positive().default(10).meta({ description: 'The window of that rate.' }),
  HEADERS_TIMEOUT_SECONDS: z.coerce.number().positive().default(20).meta({ description: 'Request headers must arrive within this, else `408 request_timeout` (a problem, German) and the connection closes, lingering. Checked once a second.' }),
  REQUEST_TIMEOUT_SECONDS: z.coerce.number().positive().default(3600).meta({ description: 'A whole request (headers and body) must arrive within this, else `408 request_timeout` in the caller\'s language and the connection closes, lingering. Checked once a second.' }),
  KEEP_ALIVE_TIMEOUT_SECONDS: z.coerce.number().positive().default(5).meta({ description: 'An idle keep-alive connection is closed after this.' }),
  AUDIT_CHECKPOINT_ENTRIES: z.coerce.number().int().positive().default(1000).meta({
    description: 'A signed checkpoint of the audit chain at every multiple of this many entries (docs/audit.md).',
  }),
  AUDIT_CHECKPOINT_MINUTES: z.coerce.number().positive().default(10).meta({
    description: "How often each instance signs the newest audit entry if no checkpoint names it yet, so a quiet trail's end is covered too.",
  }),
  MAX_PAGES: z.coerce.number().int().positive().default(1000).meta({ description: 'Most pages in one document.' }),
  PROCESSING_TIME_BUDGET_MS: z.coerce.number().int().positive().default(120_000).meta({ description: 'Processing time allowed per document.' }),
  OCR: z.enum(['on', 'off']).default('on').meta({ description: '`off`: captures get no text layer (and no `document.ocr` job).' }),
  OCR_TIME_BUDGET_MS: z.coerce.number().int().positive().default(600_000).meta({ description: 'Time one run of the text layer job may take for a document.' }),
  OCR_ATTEMPTS: z.coerce.number().int().positive().max(100).default(5).meta({ description: 'Runs of the text layer job before the document is `failed`.' }),
  JOB_LEASE_MS: z.coerce.number().int().min(1000).default(60_000).meta({
    description: "How long a running job is its instance's without renewal; another instance takes it over after that.",
  }),
  JOB_BACKOFF_MS: z.coerce.number().int().positive().default(5_000).meta({
    description: "Retry delay after a job's first failed run, doubled per further failure (at most 10 min).",
  }),
  PROCESSING_THREADS: z.coerce.number().int().positive().max(64).optional().meta({
    description: 'Worker threads for processing. Decryption, hashing and sealing run in the crypto pool (one thread, up to one per core while captures overlap), so the event loop only parses and moves bytes.',
    unset: 'cores',
  }),
  PROCESSING_QUEUE: z.coerce.number().int().positive().default(16).meta({
    description: 'Processing tasks waiting at most; beyond it 503. Page and thumbnail renders take at most half of threads + queue, and at most 2 per reader (beyond: 429 with `Retry-After`), so reading never fills the pool against captures.',
  }),
  MARKING_LAYOUT: z.enum(['fit', 'extend']).default('fit').meta({
    description: 'How a PDF page makes room for the marking: `fit` keeps the page size (A4 stays A4) and scales the content into the area between the bands; `extend` grows the page by the bands (595×842 becomes 595×884). Photos and scans always become A4 pages.',
  }),
  IDEMPOTENCY_TTL_HOURS: z.coerce.number().positive().default(24).meta({ description: 'How long an `Idempotency-Key` is remembered.' }),
  UPLOAD_TTL_HOURS: z.coerce.number().positive().default(24).meta({
    description: 'Resumable uploads, finished or not, expire this long after creation; the sweep removes them.',
  }),
  UPLOAD_MAX_BYTES: z.coerce.number().int().positive().optional().meta({
    description: 'Largest resumable upload (ciphertext bytes); larger `Upload-Length` is refused with 413.',
    unset: 'JWE size of `MAX_FILE_BYTES`',
  }),
  UPLOAD_CHUNK_BYTES: z.coerce.number().int().min(64 * 1024).max(64 * 1024 * 1024).default(8 * 1024 * 1024).meta({
    description: 'Size of the stored chunk objects of an upload (64 KiB to 64 MiB): the memory one PATCH holds at most.',
  }),
  VIEW_TICKET_TTL_SECONDS: z.coerce.number().int().positive().max(86_400).default(600).meta({ description: 'Lifetime of a viewer ticket.' }),
  VIEW_TICKET_KEY: z.string().min(1).optional().meta({
    description: 'Private EC P-256 JWK (JSON, or a file holding it) that signs view tickets (ES256); every instance needs the same key. Required in production.',
    unset: 'generated in dev',
  }),
  VIEW_TICKET_KEY_FILE: z.string().min(1).optional().meta({ formOf: 'VIEW_TICKET_KEY' }),
  MANIFEST_SIGNING_KEY: z.string().min(1).optional().meta({
    description: 'Private JWK (JSON, or a file holding it) that signs manifests: EC P-384 (ES384) or RSA of at least 3072 bits (PS256); its public part is published in `GET /v1/keys` with `use: sig`. Every instance needs the same key. Required in production.',
    unset: 'generated in dev',
  }),
  MANIFEST_SIGNING_KEY_FILE: z.string().min(1).optional().meta({ formOf: 'MANIFEST_SIGNING_KEY' }),
  RETENTION_DAYS: z.coerce.number().min(0).default(0).meta({
    description: 'Documents younger than this cannot be deleted (`409 retention_active`); `0`: no retention period.',
  }),
  VIEW_CACHE_BYTES: z.coerce.number().int().min(0).default(64 * 1024 * 1024).meta({
    description: 'In-memory bound (64 MiB) for decrypted renditions and unwatermarked page renders of the viewer (raw pixels: about 8 MiB per page at 1200 px); `0` turns caching off. Never on disk.',
  }),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().positive().default(15_000).meta({
    description: 'Time in-flight requests get after SIGTERM, and then running jobs (an OCR run still going after that is redone by another instance).',
  }),
  SWEEP_INTERVAL_SECONDS: z.coerce.number().int().positive().default(900).meta({
    description: 'How often the cluster runs the sweep (orphaned blobs of interrupted captures, expired uploads and idempotency keys): one instance per interval, by a lease in the database; also `npm run sweep`.',
  }),
  ORPHAN_GRACE_SECONDS: z.coerce.number().int().positive().default(3600).meta({
    description: 'Age an uncommitted document write must reach before the sweep removes it; at least `PROCESSING_TIME_BUDGET_MS` plus 60 s, so a capture still running never loses its blobs.',
  }),
  XDOMEA_SENDER_INSTITUTION: xoevText.optional().meta({
    description: 'Absender of xdomea messages: `Institution/Name` and `Kurzbezeichnung` (the authority). Text of XÖV String.Latin 1.1 only, at most 200 characters.',
  }),
  XDOMEA_SENDER_INSTITUTION_SHORT: xoevText.optional().meta({ rowWith: 'XDOMEA_SENDER_INSTITUTION' }),
  XDOMEA_SENDER_UNIT: xoevText.optional().meta({ description: 'Absender `Organisationseinheit/Name`.', unset: "the document's unit" }),
  XDOMEA_RECIPIENT_INSTITUTION: xoevText.optional().meta({
    description: "Empfänger of xdomea messages (the E-Akte/DMS operator); unset, the message's `Empfaenger` is empty.",
  }),
  XDOMEA_RECIPIENT_INSTITUTION_SHORT: xoevText.optional().meta({ rowWith: 'XDOMEA_RECIPIENT_INSTITUTION' }),
  XDOMEA_RECIPIENT_UNIT: xoevText.optional().meta({ rowWith: 'XDOMEA_RECIPIENT_INSTITUTION' }),
});

type Env = z.infer<typeof envSchema>;

export interface Config {
  env: Env['NODE_ENV'];
  /** True when the service issues its own tokens (no OIDC issuer and not production). */
  devMode: boolean;
  host: string;
  port: number;
  publicUrl: string | undefined;
  logLevel: Env['LOG_LEVEL'];
  dataDir: string;
  storage: { backend: 'fs' } | { backend: 's3'; s3: S3Config };
  /** Every key's source: the variable, its _FILE (or _DIR), and outside production DATA_DIR for a key generated once. */
  storageKeys: KeySource;
  /** PostgreSQL server for the metadata; unset: PGlite under DATA_DIR/metadata. */
  databaseUrl: string | undefined;
  /** Keys of the blind indexes (search), same JSON form as the storage keys. */
  searchKeys: KeySource;
  ingestKeys: KeySource;
  requireEncryption: boolean;
  oidc: OidcConfig | undefined;
  claims: { roles: string; units: string; name: string };
  /** The browser workspace's sign-in at the OpenID provider. */
  workspace: { clientId: string; scope: string };
  limits: {
    maxFileBytes: number;
    maxFiles: number;
    maxRequestBytes: number;
    maxConcurrentUploads: number;
    /** One caller's share of those slots. */
    maxConcurrentUploadsPerUser: number;
    /** Bytes all admitted requests may hold at once (bodies and referenced uploads). */
    maxBufferedBytes: number;
    maxPages: number;
    timeBudgetMs: number;
  };
  processing: { threads: number | undefined; queue: number; markingLayout: 'fit' | 'extend' };
  /** The text layer job after the 201 (off: captures get none): its time budget per run and how many runs before it is `failed`. */
  ocr: { enabled: boolean; budgetMs: number; attempts: number };
  /** Background jobs: how long a claim is an instance's without renewal, and the first retry delay (doubled per failure). */
  jobs: { leaseMs: number; backoffMs: number };
  /** Slow clients: headers must arrive within `headersMs`, the whole request within `requestMs`, a body at least at `minBodyBytesPerSecond` over each `bodyRateWindowMs`. */
  timeouts: { headersMs: number; requestMs: number; keepAliveMs: number; minBodyBytesPerSecond: number; bodyRateWindowMs: number };
  idempotencyTtlMs: number;
  /** Resumable uploads (tus): lifetime from creation, size bound (unset: the JWE bound of MAX_FILE_BYTES), stored chunk size. */
  uploads: { ttlMs: number; maxBytes: number | undefined; chunkBytes: number };
  /** Signed checkpoints of the audit chain: at every multiple of `entries`, and every `intervalMs` of the newest entry. */
  auditCheckpoints: { entries: number; intervalMs: number };
  viewTicketTtlMs: number;
  /** ES256 signing key of view tickets (private JWK JSON, or a file holding it); generated in development. */
  viewTicketKey: KeySource;
  /** ES384 (EC P-384) or PS256 (RSA >= 3072) key that signs manifests (private JWK JSON, or a file holding it); generated in development. */
  manifestKey: KeySource;
  /** Documents younger than this cannot be deleted; 0: no retention period. */
  retentionMs: number;
  /** Bound of the in-memory cache of rendered viewer pages; 0 turns it off. */
  viewCacheBytes: number;
  shutdownGraceMs: number;
  /** Where /metrics is served: behind `token` on the main listener, or on a listener of its own (`port`); neither: not at all. */
  metrics: { token: string | undefined; port: number | undefined; host: string };
  /** The orphan sweep: how often it runs, and how old an uncommitted write must be before it is removed. */
  sweep: { intervalMs: number; orphanGraceMs: number };
  /** Absender and Empfänger of xdomea messages; the sender's unit defaults to the document's. */
  xdomea: { sender: XdomeaParty; recipient: XdomeaParty };
}

/** Start-up refused: names the bad variables, never their values. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const parsed = envSchema.safeParse(pickKnown(source));
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  return Object.freeze(toConfig(parsed.data));
}

/** Only our variables reach zod, so unrelated environment values can never appear in errors. */
function pickKnown(source: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = source[key];
    if (value !== undefined && value !== '') out[key] = value;
  }
  return out;
}

function toConfig(env: Env): Config {
  const problems: string[] = [];
  const production = env.NODE_ENV === 'production';
  const oidc = toOidc(env, problems);
  if (production && !oidc) problems.push('OIDC_ISSUER: required in production (the development token issuer is off)');
  const storage = toStorage(env, problems);
  if (production && !env.STORAGE_KEYS && !env.STORAGE_KEYS_FILE) {
    problems.push('STORAGE_KEYS or STORAGE_KEYS_FILE: required in production (generated keys are for development)');
  }
  if (production && !env.SEARCH_KEYS && !env.SEARCH_KEYS_FILE) {
    problems.push('SEARCH_KEYS or SEARCH_KEYS_FILE: required in production (generated keys are for development)');
  }
  if (production && !env.INGEST_KEYS && !env.INGEST_KEYS_DIR) {
    problems.push('INGEST_KEYS or INGEST_KEYS_DIR: required in production (generated keys are for development)');
  }
  if (production && !env.PUBLIC_URL) {
    problems.push('PUBLIC_URL: required in production (links such as viewer URLs must not be built from the Host header)');
  }
  for (const name of ['OIDC_ISSUER', 'OIDC_JWKS_URL'] as const) {
    // Over plain http anyone on the path could swap the keys that sign access tokens.
    if (production && env[name]?.startsWith('http:')) problems.push(`${name}: must use https in production`);
  }
  if (production && env.REQUIRE_ENCRYPTION === false) {
    problems.push('REQUIRE_ENCRYPTION: must not be false in production (every part must arrive as a JWE)');
  }
  if (production && !env.VIEW_TICKET_KEY && !env.VIEW_TICKET_KEY_FILE) {
    problems.push('VIEW_TICKET_KEY or VIEW_TICKET_KEY_FILE: required in production (every instance must verify the same tickets)');
  }
  // A capture still processing must never lose its blobs to the sweep: a minute on top for its storage writes.
  if (env.ORPHAN_GRACE_SECONDS * 1000 < env.PROCESSING_TIME_BUDGET_MS + 60_000) {
    problems.push('ORPHAN_GRACE_SECONDS: must be at least PROCESSING_TIME_BUDGET_MS plus 60 seconds');
  }
  if (production && !env.MANIFEST_SIGNING_KEY && !env.MANIFEST_SIGNING_KEY_FILE) {
    problems.push('MANIFEST_SIGNING_KEY or MANIFEST_SIGNING_KEY_FILE: required in production (archives verify manifests with its public key)');
  }
  // Node refuses a server whose header timeout exceeds its request timeout.
  if (env.HEADERS_TIMEOUT_SECONDS > env.REQUEST_TIMEOUT_SECONDS) problems.push('HEADERS_TIMEOUT_SECONDS: must not exceed REQUEST_TIMEOUT_SECONDS');
  if (problems.length) throw new ConfigError(problems);
  // Outside production, missing keys are generated once into the data directory.
  const devKeys = production ? {} : { devDataDir: path.resolve(env.DATA_DIR) };
  return {
    env: env.NODE_ENV,
    devMode: !oidc && !production,
    host: env.HOST,
    port: env.PORT,
    publicUrl: env.PUBLIC_URL?.replace(/\/+$/, ''),
    logLevel: env.LOG_LEVEL,
    dataDir: path.resolve(env.DATA_DIR),
    storage,
    storageKeys: { json: env.STORAGE_KEYS, file: env.STORAGE_KEYS_FILE, ...devKeys },
    databaseUrl: env.DATABASE_URL,
    searchKeys: { json: env.SEARCH_KEYS, file: env.SEARCH_KEYS_FILE, ...devKeys },
    ingestKeys: { json: env.INGEST_KEYS, dir: env.INGEST_KEYS_DIR, ...devKeys },
    requireEncryption: env.REQUIRE_ENCRYPTION ?? env.NODE_ENV === 'production',
    oidc,
    claims: { roles: env.OIDC_ROLES_CLAIM, units: env.OIDC_UNITS_CLAIM, name: env.OIDC_NAME_CLAIM },
    workspace: { clientId: env.WORKSPACE_CLIENT_ID, scope: env.WORKSPACE_SCOPE },
    limits: {
      maxFileBytes: env.MAX_FILE_BYTES,
      maxFiles: env.MAX_FILES,
      maxRequestBytes: env.MAX_REQUEST_BYTES,
      maxConcurrentUploads: env.MAX_CONCURRENT_UPLOADS,
      // A quarter of the slots by default: two users alone still get everything, one user never does.
      maxConcurrentUploadsPerUser: Math.min(env.MAX_CONCURRENT_UPLOADS, env.MAX_CONCURRENT_UPLOADS_PER_USER ?? Math.max(1, Math.floor(env.MAX_CONCURRENT_UPLOADS / 4))),
      maxBufferedBytes: env.MAX_BUFFERED_BYTES ?? env.MAX_CONCURRENT_UPLOADS * env.MAX_REQUEST_BYTES,
      maxPages: env.MAX_PAGES,
      timeBudgetMs: env.PROCESSING_TIME_BUDGET_MS,
    },
    processing: { threads: env.PROCESSING_THREADS, queue: env.PROCESSING_QUEUE, markingLayout: env.MARKING_LAYOUT },
    ocr: { enabled: env.OCR === 'on', budgetMs: env.OCR_TIME_BUDGET_MS, attempts: env.OCR_ATTEMPTS },
    jobs: { leaseMs: env.JOB_LEASE_MS, backoffMs: env.JOB_BACKOFF_MS },
    timeouts: {
      headersMs: env.HEADERS_TIMEOUT_SECONDS * 1000,
      requestMs: env.REQUEST_TIMEOUT_SECONDS * 1000,
      keepAliveMs: env.KEEP_ALIVE_TIMEOUT_SECONDS * 1000,
      minBodyBytesPerSecond: env.MIN_BODY_BYTES_PER_SECOND,
      bodyRateWindowMs: env.BODY_RATE_WINDOW_SECONDS * 1000,
    },
    idempotencyTtlMs: env.IDEMPOTENCY_TTL_HOURS * 3_600_000,
    uploads: { ttlMs: env.UPLOAD_TTL_HOURS * 3_600_000, maxBytes: env.UPLOAD_MAX_BYTES, chunkBytes: env.UPLOAD_CHUNK_BYTES },
    auditCheckpoints: { entries: env.AUDIT_CHECKPOINT_ENTRIES, intervalMs: env.AUDIT_CHECKPOINT_MINUTES * 60_000 },
    viewTicketTtlMs: env.VIEW_TICKET_TTL_SECONDS * 1000,
    viewTicketKey: { json: env.VIEW_TICKET_KEY, file: env.VIEW_TICKET_KEY_FILE, ...devKeys },
    manifestKey: { json: env.MANIFEST_SIGNING_KEY, file: env.MANIFEST_SIGNING_KEY_FILE, ...devKeys },
    retentionMs: env.RETENTION_DAYS * 86_400_000,
    viewCacheBytes: env.VIEW_CACHE_BYTES,
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    metrics: { token: env.METRICS_TOKEN, port: env.METRICS_PORT, host: env.METRICS_HOST ?? env.HOST },
    sweep: { intervalMs: env.SWEEP_INTERVAL_SECONDS * 1000, orphanGraceMs: env.ORPHAN_GRACE_SECONDS * 1000 },
    xdomea: {
      sender: party(env.XDOMEA_SENDER_INSTITUTION, env.XDOMEA_SENDER_INSTITUTION_SHORT, env.XDOMEA_SENDER_UNIT),
      recipient: party(env.XDOMEA_RECIPIENT_INSTITUTION, env.XDOMEA_RECIPIENT_INSTITUTION_SHORT, env.XDOMEA_RECIPIENT_UNIT),
    },
  };
}

function party(institution: string | undefined, institutionShort: string | undefined, unit: string | undefined): XdomeaParty {
  return { ...(institution ? { institution } : {}), ...(institutionShort ? { institutionShort } : {}), ...(unit ? { unit } : {}) };
}

function toOidc(env: Env, problems: string[]): OidcConfig | undefined {
  if (!env.OIDC_ISSUER) return undefined;
  if (!env.OIDC_AUDIENCE) problems.push('OIDC_AUDIENCE: required when OIDC_ISSUER is set');
  return {
    issuer: env.OIDC_ISSUER,
    audience: env.OIDC_AUDIENCE ?? '',
    jwksUrl: env.OIDC_JWKS_URL,
    rolesClaim: env.OIDC_ROLES_CLAIM,
    unitsClaim: env.OIDC_UNITS_CLAIM,
    nameClaim: env.OIDC_NAME_CLAIM,
    strict: env.NODE_ENV === 'production',
    timeoutMs: env.OIDC_TIMEOUT_SECONDS * 1000,
    jwksCooldownMs: env.OIDC_JWKS_COOLDOWN_SECONDS * 1000,
    clockToleranceSeconds: env.OIDC_CLOCK_TOLERANCE_SECONDS,
  };
}

function toStorage(env: Env, problems: string[]): Config['storage'] {
  if (env.STORAGE_BACKEND === 'fs') return { backend: 'fs' };
  const missing = (['S3_ENDPOINT', 'S3_ACCESS_KEY', 'S3_SECRET_KEY'] as const).filter((k) => !env[k]);
  for (const name of missing) problems.push(`${name}: required when STORAGE_BACKEND=s3`);
  return {
    backend: 's3',
    s3: {
      ...parseS3Endpoint(env.S3_ENDPOINT ?? 'http://invalid'),
      region: env.S3_REGION,
      bucket: env.S3_BUCKET,
      accessKey: env.S3_ACCESS_KEY ?? '',
      secretKey: env.S3_SECRET_KEY ?? '',
    },
  };
}
