/**
 * Bearer token formats. API keys are `flk_<40 base62>` and wallet sessions
 * `fls_<40 base62>`: 40 characters of a 62-letter alphabet are ≈ 238 bits of
 * CSPRNG output, far beyond guessing, which is why a plain (unsalted) SHA-256
 * is a sound way to store them — salts and slow hashes defend low-entropy
 * passwords against dictionaries, and there is no dictionary for these.
 */
import { createHash, randomInt } from 'node:crypto';

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Random characters in a newly issued secret. */
export const TOKEN_SECRET_LENGTH = 40;

/** The two kinds of bearer token the gateway accepts, by prefix. */
export const TOKEN_PREFIX = { apiKey: 'flk_', walletSession: 'fls_' } as const;

export type TokenKind = keyof typeof TOKEN_PREFIX;

/**
 * Accepted shape of a presented token. Wider than what we issue (32–128
 * characters) so keys minted by a future, longer format keep working; anything
 * else is rejected before the store is asked.
 */
const TOKEN_SHAPE = /^(flk_|fls_)[A-Za-z0-9]{32,128}$/;

/** `length` characters drawn uniformly from `[A-Za-z0-9]` (randomInt rejects modulo bias). */
export function randomBase62(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += BASE62[randomInt(BASE62.length)];
  return out;
}

/** A new secret token of `kind`, e.g. `flk_3fQ…`. Shown once; only its hash is stored. */
export function newSecretToken(kind: TokenKind): string {
  return `${TOKEN_PREFIX[kind]}${randomBase62(TOKEN_SECRET_LENGTH)}`;
}

/** Lowercase hex SHA-256 of the whole token (prefix included): the only form ever stored. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The kind of a well-formed token, or undefined for anything else. */
export function tokenKindOf(token: string): TokenKind | undefined {
  const match = TOKEN_SHAPE.exec(token);
  if (!match) return undefined;
  return match[1] === TOKEN_PREFIX.apiKey ? 'apiKey' : 'walletSession';
}
