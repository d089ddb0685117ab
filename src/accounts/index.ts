/**
 * The accounts area's public surface (STYLE.md §9): accounts, API keys and
 * wallet sessions. Used by the gateway (resolving bearer tokens), the admin
 * CLI (issuing and revoking keys) and `computalot dev` (the local key).
 */
export {
  CredentialService,
  type CredentialServiceOptions,
  type IssuedApiKey,
  type IssuedWalletSession,
  type ResolvedCredential,
  type TokenRejection,
  type TokenResolution,
} from './credential-service.js';
export type { AccountDirectory, EnsuredAccount } from './account-directory.js';
export { storeActorMailbox, accountOpenEventId, type ActorMailbox } from './account-events.js';
export { CREDENTIAL_ROLES, credentialKeys, type AccountRecord, type ApiKeyRecord, type CredentialRole, type WalletSessionRecord } from './credential-records.js';
export { AccountNotFoundError, ApiKeyNotFoundError, InvalidAccountNameError } from './errors.js';
export { DEFAULT_TOKEN_CACHE_TTL_MS } from './token-cache.js';
export { TOKEN_PREFIX, hashToken, tokenKindOf } from './tokens.js';
