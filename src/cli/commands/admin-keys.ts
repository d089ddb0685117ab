/**
 * `computalot admin keys create|list|revoke`: operator commands over the
 * configured store. With Redis they run beside live controllers; the embedded
 * store is single-process, so they work only while `computalot dev` (or a
 * controller on the same data dir) is stopped.
 *
 * The `account.open` of a new account is appended to the actor mailbox; the
 * controller applies it when it runs.
 */
import { join } from 'node:path';
import { CREDENTIAL_ROLES, CredentialService, DEFAULT_TOKEN_CACHE_TTL_MS, storeActorMailbox, type CredentialRole } from '../../accounts/index.js';
import { loadConfig, type ClusterConfig } from '../../shared/config.js';
import { ConfigError, isComputalotError } from '../../shared/errors.js';
import { EmbeddedStoreError, StoreLockedError, type Store } from '../../store/index.js';
import type { CliOutput } from '../main.js';
import { ADMIN_USAGE } from '../usage.js';
import { DEV_API_KEY_FILE } from './dev-api-key.js';
import { integerFlag } from './flags.js';
import { openStore } from './open-store.js';

/** Flags of `computalot admin`, as typed. */
export interface AdminFlags {
  readonly config?: string | undefined;
  readonly dataDir?: string | undefined;
  readonly shards?: string | undefined;
  readonly account?: string | undefined;
  readonly role?: string | undefined;
  readonly label?: string | undefined;
}

/** A usage mistake: printed with the usage text, exit 2. */
class AdminUsageError extends Error {}

/** Runs `computalot admin <positionals…>`; resolves with the exit code. */
export async function runAdmin(positionals: readonly string[], flags: AdminFlags, output: CliOutput): Promise<number> {
  let action: (credentials: CredentialService) => Promise<void>;
  try {
    action = parseAction(positionals, flags, output);
  } catch (error) {
    if (!(error instanceof AdminUsageError)) throw error;
    output.stderr(`computalot admin: ${error.message}\n\n${ADMIN_USAGE}`);
    return 2;
  }

  let config: ClusterConfig;
  try {
    config = loadConfig({ file: flags.config, env: process.env, overrides: { store: { data_dir: flags.dataDir }, shards: integerFlag(flags.shards) } });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    output.stderr(`computalot admin: invalid configuration\n${error.message}\n`);
    return 1;
  }

  let store: Store;
  try {
    store = await openStore(config);
  } catch (error) {
    output.stderr(`computalot admin: ${describeOpenFailure(error, config)}\n`);
    return 1;
  }
  try {
    // No cache: a one-shot command must see the store as it is.
    await action(new CredentialService({ store, mailbox: storeActorMailbox(store), cacheTtlMs: 0 }));
    return 0;
  } catch (error) {
    if (!isComputalotError(error)) throw error;
    output.stderr(`computalot admin: ${error.message}\n`);
    return 1;
  } finally {
    await store.close();
  }
}

function parseAction(positionals: readonly string[], flags: AdminFlags, output: CliOutput): (credentials: CredentialService) => Promise<void> {
  const [area, verb, ...rest] = positionals;
  if (area !== 'keys') throw new AdminUsageError(area === undefined ? 'missing subcommand' : `unknown subcommand '${area}'`);
  const extra = (expected: number) => {
    if (rest.length > expected) throw new AdminUsageError(`unexpected argument '${rest[expected] ?? ''}'`);
  };
  switch (verb) {
    case 'create': {
      extra(0);
      const account = requireAccountFlag(flags);
      const role = parseRole(flags.role);
      return (credentials) => createKey(credentials, account, role, flags.label ?? null, output);
    }
    case 'list': {
      extra(0);
      const account = requireAccountFlag(flags);
      return (credentials) => listKeys(credentials, account, output);
    }
    case 'revoke': {
      const keyId = rest[0];
      if (keyId === undefined) throw new AdminUsageError('keys revoke needs the KEY_ID to revoke');
      extra(1);
      return (credentials) => revokeKey(credentials, keyId, output);
    }
    default:
      throw new AdminUsageError(verb === undefined ? 'keys needs create, list or revoke' : `unknown keys command '${verb}'`);
  }
}

function requireAccountFlag(flags: AdminFlags): string {
  if (flags.account === undefined || flags.account.trim() === '') throw new AdminUsageError('--account NAME is required');
  return flags.account.trim();
}

function parseRole(role: string | undefined): CredentialRole {
  if (role === undefined) return 'member';
  const known = CREDENTIAL_ROLES.find((candidate) => candidate === role);
  if (known === undefined) throw new AdminUsageError(`--role must be one of ${CREDENTIAL_ROLES.join(', ')}, got '${role}'`);
  return known;
}

async function createKey(credentials: CredentialService, accountName: string, role: CredentialRole, label: string | null, output: CliOutput): Promise<void> {
  const { account, created } = await credentials.createAccount(accountName);
  const { token, key } = await credentials.issueApiKey(account.id, role, label);
  output.stdout(
    [
      `Account: ${account.name} (${account.id})${created ? ', created' : ''}`,
      `Key id:  ${key.key_id}`,
      `Role:    ${key.role}`,
      ...(key.label === null ? [] : [`Label:   ${key.label}`]),
      `API key: ${token}`,
      '',
      'This is the only time the key is shown: the store keeps just its hash.',
      '',
    ].join('\n'),
  );
}

async function listKeys(credentials: CredentialService, accountName: string, output: CliOutput): Promise<void> {
  const account = await credentials.accounts.resolve(accountName);
  const keys = await credentials.listKeys(account.id);
  if (keys.length === 0) {
    output.stdout(`No API keys for account ${account.name} (${account.id}).\n`);
    return;
  }
  const rows = [
    ['KEY_ID', 'ROLE', 'STATUS', 'CREATED', 'LABEL'],
    ...keys.map((key) => [key.key_id, key.role, key.revoked_at === undefined ? 'active' : `revoked ${key.revoked_at}`, key.created_at, key.label ?? '']),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  output.stdout(`Account ${account.name} (${account.id})\n`);
  for (const row of rows) output.stdout(`${row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()}\n`);
}

async function revokeKey(credentials: CredentialService, keyId: string, output: CliOutput): Promise<void> {
  const key = await credentials.revokeApiKey(keyId);
  const cacheSeconds = DEFAULT_TOKEN_CACHE_TTL_MS / 1000;
  output.stdout(`Revoked ${key.key_id} (account ${key.account_id}) at ${key.revoked_at ?? ''}.\nRunning controllers stop accepting it within their token cache lifetime (${cacheSeconds} s).\n`);
}

/** Opening the store failed: say what to do, above all when `computalot dev` holds the embedded store. */
function describeOpenFailure(error: unknown, config: ClusterConfig): string {
  if (error instanceof StoreLockedError) {
    return (
      `the embedded store in ${error.dataDir} is in use by process ${error.holderPid} (probably \`computalot dev\`). ` +
      `The embedded store serves one process at a time: stop it and run this command again, ` +
      `or use the dev API key in ${join(config.store.data_dir, DEV_API_KEY_FILE)}.`
    );
  }
  if (error instanceof EmbeddedStoreError) return error.message;
  return `cannot open the store: ${error instanceof Error ? error.message : String(error)}`;
}
