import { createLocalJWKSet, errors as joseErrors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { AppError } from '../kernel/errors.ts';

export interface ProviderKeysOptions {
  issuer: string;
  /** Skips discovery when set. */
  jwksUrl: string | undefined;
  /** Production: the discovered issuer must be `issuer` exactly and jwks_uri must be https. */
  strict: boolean;
  /** Each request to the provider (discovery, key set) is abandoned after this long. */
  timeoutMs: number;
  /** A token naming an unknown key refetches the set at most this often, so random kids cannot hammer the provider. */
  cooldownMs: number;
  /** A key set older than this is refreshed before use (kept when the refresh fails). */
  maxAgeMs: number;
  fetch?: typeof fetch;
  now?: () => number;
  /** Told when the provider cannot be reached or answers nonsense; never given tokens. */
  warn?: (details: object, message: string) => void;
}

/** Backoff between failed attempts: 1 s, 2 s, 4 s … at most 60 s. */
const BACKOFF_MS = { first: 1000, max: 60_000 };

/**
 * The identity provider's signing keys: discovered once, fetched with a timeout, refreshed on an
 * unknown key id or when old. A failed refresh keeps the last good set; without any set, callers
 * get 503 with Retry-After until the next attempt the backoff allows.
 */
export class ProviderKeys {
  private jwksUri: string | undefined;
  private current: { keys: JWTVerifyGetKey; fetchedAt: number } | undefined;
  private refreshing: Promise<void> | undefined;
  private failures = 0;
  private nextAttemptAt = 0;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;

  constructor(private readonly options: ProviderKeysOptions) {
    this.jwksUri = options.jwksUrl;
    this.fetchImpl = options.fetch ?? fetch;
    this.now = options.now ?? Date.now;
  }

  /** A jose key resolver for jwtVerify. */
  readonly resolve: JWTVerifyGetKey = async (header, token) => {
    const held = this.current;
    const stale = !held || this.now() - held.fetchedAt >= this.options.maxAgeMs;
    if (stale) await this.refresh();
    try {
      return await this.keys()(header, token);
    } catch (err) {
      // An unknown kid may be a rotated key: refetch once (within the cooldown) and look again.
      if (!(err instanceof joseErrors.JWKSNoMatchingKey) || this.now() - this.current!.fetchedAt < this.options.cooldownMs) throw err;
      await this.refresh();
      return this.keys()(header, token);
    }
  };

  private keys(): JWTVerifyGetKey {
    if (this.current) return this.current.keys;
    throw this.unavailable();
  }

  /** One refresh at a time; failures back off and keep what was there. */
  private async refresh(): Promise<void> {
    if (this.now() < this.nextAttemptAt) return;
    this.refreshing ??= this.load()
      .then(() => {
        this.failures = 0;
        this.nextAttemptAt = 0;
      })
      .catch((err: unknown) => {
        this.nextAttemptAt = this.now() + Math.min(BACKOFF_MS.max, BACKOFF_MS.first * 2 ** this.failures++);
        this.options.warn?.({ err, keptKeys: this.current !== undefined }, 'identity provider unreachable or invalid');
      })
      .finally(() => (this.refreshing = undefined));
    await this.refreshing;
  }

  private async load(): Promise<void> {
    this.jwksUri ??= await this.discover();
    const set = await this.getJson<JSONWebKeySet>(this.jwksUri);
    if (!Array.isArray(set.keys)) throw new Error('the key set has no "keys" array');
    this.current = { keys: createLocalJWKSet(set), fetchedAt: this.now() };
  }

  private async discover(): Promise<string> {
    const meta = await this.getJson<{ issuer?: unknown; jwks_uri?: unknown }>(`${this.options.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`);
    if (typeof meta.jwks_uri !== 'string') throw new Error('the discovery document has no jwks_uri');
    if (this.options.strict && meta.issuer !== this.options.issuer) throw new Error('the discovered issuer differs from OIDC_ISSUER');
    if (this.options.strict && !meta.jwks_uri.startsWith('https://')) throw new Error('the discovered jwks_uri is not https');
    return meta.jwks_uri;
  }

  private async getJson<T>(url: string): Promise<T> {
    const res = await this.fetchImpl(url, { signal: AbortSignal.timeout(this.options.timeoutMs), headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`${new URL(url).pathname} answered ${res.status}`);
    return (await res.json()) as T;
  }

  private unavailable(): AppError {
    const retryAfter = Math.max(1, Math.ceil((this.nextAttemptAt - this.now()) / 1000));
    return new AppError('idp_unavailable', {
      detail: {
        de: 'Der Anmeldedienst ist nicht erreichbar, daher kann das Token gerade nicht geprüft werden; versuchen Sie es nach der in Retry-After genannten Zeit erneut.',
        en: 'The identity provider cannot be reached, so the token cannot be checked right now; retry after the time in Retry-After.',
      },
      extra: { retryAfter },
    });
  }
}
