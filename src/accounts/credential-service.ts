/**
 * Accounts and the credentials that act for them: admin-issued API keys
 * (`flk_…`) and wallet sessions (`fls_…`). Secrets are returned once, at
 * issue, and stored only as SHA-256 hashes (see tokens.ts for why that is
 * enough). Resolving a token costs one KV read, then is cached in-process for
 * `cacheTtlMs` — the bound on how long a revocation made elsewhere takes to
 * reach this process.
 */
import { newId } from '../shared/ids.js';
import type { Store } from '../store/index.js';
import { AccountDirectory, type EnsuredAccount } from './account-directory.js';
import type { ActorMailbox } from './account-events.js';
import {
  accountApiKeyIndexSchema,
  apiKeyIdIndexSchema,
  apiKeyRecordSchema,
  credentialKeys,
  parseRecord,
  toJson,
  walletSessionRecordSchema,
  type AccountRecord,
  type ApiKeyRecord,
  type CredentialRole,
  type WalletSessionRecord,
} from './credential-records.js';
import { ApiKeyNotFoundError } from './errors.js';
import { DEFAULT_TOKEN_CACHE_MAX_ENTRIES, DEFAULT_TOKEN_CACHE_TTL_MS, TokenCache } from './token-cache.js';
import { hashToken, newSecretToken, tokenKindOf } from './tokens.js';

/** Who a valid token acts for; the gateway turns it into `request.principal`. */
export interface ResolvedCredential {
  readonly accountId: string;
  readonly role: CredentialRole;
  /** `key_…` or `wss_…`: safe to log, unlike the token. */
  readonly credentialId: string;
  readonly kind: 'api_key' | 'wallet_session';
}

/** Why a token was refused; the gateway words each as a 401. */
export type TokenRejection = 'malformed' | 'unknown' | 'revoked' | 'expired';

export type TokenResolution = { readonly ok: true; readonly credential: ResolvedCredential } | { readonly ok: false; readonly reason: TokenRejection };

/** A newly issued API key: `token` is the secret, shown to the operator once. */
export interface IssuedApiKey {
  readonly token: string;
  readonly key: ApiKeyRecord;
  readonly account: AccountRecord;
}

/** A newly issued wallet session: `token` is the `fls_…` secret. */
export interface IssuedWalletSession {
  readonly token: string;
  readonly session: WalletSessionRecord;
}

export interface CredentialServiceOptions {
  readonly store: Store;
  /** Where `account.open` goes: the `ControllerNode`, or `storeActorMailbox(store)`. */
  readonly mailbox: ActorMailbox;
  /** Lifetime of cached token resolutions (ms). Default 5 000; 0 disables the cache. */
  readonly cacheTtlMs?: number;
  /** Most cached resolutions. Default 10 000. */
  readonly cacheMaxEntries?: number;
  /** Clock (epoch ms); tests pass a fake one. Default `Date.now`. */
  readonly now?: () => number;
}

/** Bounded retries of a revocation's compare-and-set; only a concurrent writer of the same key can use them up. */
const REVOKE_ATTEMPTS = 5;

export class CredentialService {
  readonly accounts: AccountDirectory;
  private readonly store: Store;
  private readonly now: () => number;
  private readonly cache: TokenCache<TokenResolution>;

  constructor(options: CredentialServiceOptions) {
    this.store = options.store;
    this.now = options.now ?? Date.now;
    this.accounts = new AccountDirectory(options.store, options.mailbox, this.now);
    this.cache = new TokenCache(options.cacheTtlMs ?? DEFAULT_TOKEN_CACHE_TTL_MS, options.cacheMaxEntries ?? DEFAULT_TOKEN_CACHE_MAX_ENTRIES, this.now);
  }

  /** Creates the account `name`, or returns it when it exists (`created: false`). */
  createAccount(name: string): Promise<EnsuredAccount> {
    return this.accounts.ensureAccount(name);
  }

  /**
   * Issues an API key for the account named (or with id) `account`.
   *
   * @throws AccountNotFoundError when there is no such account.
   */
  async issueApiKey(account: string, role: CredentialRole = 'member', label: string | null = null): Promise<IssuedApiKey> {
    const owner = await this.accounts.resolve(account);
    const token = newSecretToken('apiKey');
    const hash = hashToken(token);
    const key: ApiKeyRecord = { key_id: newId('key'), account_id: owner.id, role, created_at: this.isoNow(), label };
    // Indexes first, the key record last: the key works only once it can also be listed and revoked.
    await this.store.kvSet(credentialKeys.apiKeyId(key.key_id), { hash, account_id: owner.id });
    await this.store.kvSet(credentialKeys.accountApiKey(owner.id, key.key_id), { hash });
    const written = await this.store.kvSet(credentialKeys.apiKey(hash), toJson(key), { ifVersion: 0 });
    // 238 random bits make a collision a broken RNG, not bad luck: refuse rather than overwrite.
    if (!written) throw new Error('API key hash collision; the random number generator is not trustworthy');
    this.cache.delete(hash);
    return { token, key, account: owner };
  }

  /**
   * Marks the key revoked (idempotent: a revoked key keeps its first
   * `revoked_at`). This process stops accepting it at once; other processes
   * within their cache TTL.
   *
   * @throws ApiKeyNotFoundError
   */
  async revokeApiKey(keyId: string): Promise<ApiKeyRecord> {
    const index = parseRecord(apiKeyIdIndexSchema, (await this.store.kvGet(credentialKeys.apiKeyId(keyId)))?.value);
    if (!index) throw new ApiKeyNotFoundError(keyId);
    const recordKey = credentialKeys.apiKey(index.hash);
    for (let attempt = 0; attempt < REVOKE_ATTEMPTS; attempt++) {
      const entry = await this.store.kvGet(recordKey);
      const record = parseRecord(apiKeyRecordSchema, entry?.value);
      if (!entry || !record) throw new ApiKeyNotFoundError(keyId);
      if (record.revoked_at !== undefined) return record;
      const revoked: ApiKeyRecord = { ...record, revoked_at: this.isoNow() };
      if (await this.store.kvSet(recordKey, toJson(revoked), { ifVersion: entry.version })) {
        this.cache.delete(index.hash);
        return revoked;
      }
    }
    throw new Error(`revoking ${keyId} lost ${REVOKE_ATTEMPTS} compare-and-set races in a row`);
  }

  /** The account's API keys, revoked ones included, oldest first. Never includes secrets. */
  async listKeys(accountId: string): Promise<ApiKeyRecord[]> {
    const entries = await this.store.kvList(credentialKeys.accountApiKeys(accountId));
    const keys = await Promise.all(
      entries.map(async (entry) => {
        const index = parseRecord(accountApiKeyIndexSchema, entry.value);
        return index ? parseRecord(apiKeyRecordSchema, (await this.store.kvGet(credentialKeys.apiKey(index.hash)))?.value) : null;
      }),
    );
    // An index line without a record is an issue that crashed half-way: that key was never handed out.
    return keys.filter((key): key is ApiKeyRecord => key !== null).sort((a, b) => a.created_at.localeCompare(b.created_at) || a.key_id.localeCompare(b.key_id));
  }

  /**
   * Issues a short-lived `fls_…` session for an account (the wallet sign-in
   * flow calls this after verifying the signature). The store drops it at
   * expiry; `resolveToken` checks `expires_at_ms` as well.
   */
  async issueWalletSession(accountId: string, options: { ttlMs: number; role?: CredentialRole; walletAddress?: string | null }): Promise<IssuedWalletSession> {
    const token = newSecretToken('walletSession');
    const hash = hashToken(token);
    const session: WalletSessionRecord = {
      session_id: newId('wss'),
      account_id: accountId,
      role: options.role ?? 'member',
      created_at: this.isoNow(),
      expires_at_ms: this.now() + options.ttlMs,
      wallet_address: options.walletAddress ?? null,
    };
    await this.store.kvSet(credentialKeys.session(hash), toJson(session), { ttlMs: options.ttlMs, ifVersion: 0 });
    this.cache.delete(hash);
    return { token, session };
  }

  /** What `token` stands for, or why it is refused. One KV read, then cached. */
  async resolveToken(token: string): Promise<TokenResolution> {
    const kind = tokenKindOf(token);
    if (kind === undefined) return { ok: false, reason: 'malformed' };
    const hash = hashToken(token);
    const cached = this.cache.get(hash);
    if (cached !== undefined) return cached;
    const resolution = kind === 'apiKey' ? await this.resolveApiKey(hash) : await this.resolveWalletSession(hash);
    this.cache.set(hash, resolution.resolution, resolution.notAfter);
    return resolution.resolution;
  }

  private async resolveApiKey(hash: string): Promise<{ resolution: TokenResolution; notAfter?: number }> {
    const record = parseRecord(apiKeyRecordSchema, (await this.store.kvGet(credentialKeys.apiKey(hash)))?.value);
    if (!record) return { resolution: { ok: false, reason: 'unknown' } };
    if (record.revoked_at !== undefined) return { resolution: { ok: false, reason: 'revoked' } };
    return { resolution: { ok: true, credential: { accountId: record.account_id, role: record.role, credentialId: record.key_id, kind: 'api_key' } } };
  }

  private async resolveWalletSession(hash: string): Promise<{ resolution: TokenResolution; notAfter?: number }> {
    const record = parseRecord(walletSessionRecordSchema, (await this.store.kvGet(credentialKeys.session(hash)))?.value);
    if (!record) return { resolution: { ok: false, reason: 'unknown' } };
    if (record.expires_at_ms <= this.now()) return { resolution: { ok: false, reason: 'expired' } };
    // A cached session must not outlive its expiry.
    const credential: ResolvedCredential = { accountId: record.account_id, role: record.role, credentialId: record.session_id, kind: 'wallet_session' };
    return { resolution: { ok: true, credential }, notAfter: record.expires_at_ms };
  }

  private isoNow(): string {
    return new Date(this.now()).toISOString();
  }
}
