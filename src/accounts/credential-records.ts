/**
 * What the accounts area keeps in the store's KV, and the one place its keys
 * are built. Every record is parsed with zod on the way in: KV is shared with
 * other areas and survives upgrades, so a malformed value must read as
 * "absent", never as a half-trusted principal.
 *
 * | key                                  | value                          |
 * |--------------------------------------|--------------------------------|
 * | `account:<account_id>`               | {@link AccountRecord}          |
 * | `account-name:<name>`                | `{ id }` (name → id index)     |
 * | `apikey:<sha256 of the key>`         | {@link ApiKeyRecord}           |
 * | `apikey-id:<key_id>`                 | `{ hash, account_id }`         |
 * | `account-apikey:<account_id>:<key_id>` | `{ hash }` (listing by account) |
 * | `session:<sha256 of the token>`      | {@link WalletSessionRecord} (with a store TTL) |
 */
import { z } from 'zod';
import type { JsonValue } from '../shared/json.js';

/** Roles a credential can carry (ARCHITECTURE.md §8). */
export const CREDENTIAL_ROLES = ['member', 'viewer'] as const;
export type CredentialRole = (typeof CREDENTIAL_ROLES)[number];

export const credentialKeys = {
  account: (accountId: string) => `account:${accountId}`,
  accountName: (name: string) => `account-name:${name}`,
  apiKey: (hash: string) => `apikey:${hash}`,
  apiKeyId: (keyId: string) => `apikey-id:${keyId}`,
  accountApiKeys: (accountId: string) => `account-apikey:${accountId}:`,
  accountApiKey: (accountId: string, keyId: string) => `account-apikey:${accountId}:${keyId}`,
  session: (hash: string) => `session:${hash}`,
} as const;

const isoTime = z.string().min(1);

export const accountRecordSchema = z.object({ id: z.string().min(1), name: z.string().min(1), created_at: isoTime });
/** An account as the directory knows it; its balance lives in the account actor. */
export type AccountRecord = z.infer<typeof accountRecordSchema>;

export const accountNameIndexSchema = z.object({ id: z.string().min(1) });

export const apiKeyRecordSchema = z.object({
  key_id: z.string().min(1),
  account_id: z.string().min(1),
  role: z.enum(CREDENTIAL_ROLES),
  created_at: isoTime,
  label: z.string().nullable(),
  revoked_at: isoTime.optional(),
});
/** An API key's metadata. The secret itself is never stored; the record is found by its hash. */
export type ApiKeyRecord = z.infer<typeof apiKeyRecordSchema>;

export const apiKeyIdIndexSchema = z.object({ hash: z.string().min(1), account_id: z.string().min(1) });
export const accountApiKeyIndexSchema = z.object({ hash: z.string().min(1) });

export const walletSessionRecordSchema = z.object({
  session_id: z.string().min(1),
  account_id: z.string().min(1),
  role: z.enum(CREDENTIAL_ROLES),
  created_at: isoTime,
  /** Epoch ms; checked on every resolve as well as enforced by the KV TTL. */
  expires_at_ms: z.number().int(),
  wallet_address: z.string().nullable(),
});
/** A short-lived `fls_…` wallet session, written by the wallet sign-in flow. */
export type WalletSessionRecord = z.infer<typeof walletSessionRecordSchema>;

/** `value` parsed with `schema`, or null when it does not match (treated as absent). */
export function parseRecord<T>(schema: z.ZodType<T>, value: JsonValue | undefined): T | null {
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

/** Records go into KV as plain JSON; optional fields that are unset are left out. */
export function toJson(record: object): JsonValue {
  return JSON.parse(JSON.stringify(record)) as JsonValue;
}
