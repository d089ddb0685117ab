/**
 * Credentials for gateway tests: an embedded store in a temp dir, a
 * `CredentialService` over it, and an account with a member and a viewer key.
 * Route tests pass `credentials` to `buildGateway` and send
 * `authorization: bearer(memberToken)`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { CredentialService, storeActorMailbox, type CredentialServiceOptions } from '../../src/accounts/index.js';
import { EmbeddedStore } from '../../src/store/index.js';

export interface TestCredentials {
  readonly credentials: CredentialService;
  readonly store: EmbeddedStore;
  readonly dataDir: string;
  readonly accountId: string;
  readonly memberToken: string;
  readonly viewerToken: string;
}

/** Sets it all up for `t`, and closes the store and removes the dir at `t`'s teardown. */
export async function makeTestCredentials(t: Test, options: Partial<Omit<CredentialServiceOptions, 'store' | 'mailbox'>> & { accountName?: string } = {}): Promise<TestCredentials> {
  const dataDir = await mkdtemp(join(tmpdir(), 'computalot-credentials-'));
  const store = await EmbeddedStore.open({ dataDir, shardCount: 4, fsync: 'batch' });
  t.teardown(async () => {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  const credentials = new CredentialService({ ...options, store, mailbox: storeActorMailbox(store) });
  const { account } = await credentials.createAccount(options.accountName ?? 'test-account');
  const member = await credentials.issueApiKey(account.id, 'member', 'test member');
  const viewer = await credentials.issueApiKey(account.id, 'viewer', 'test viewer');
  return { credentials, store, dataDir, accountId: account.id, memberToken: member.token, viewerToken: viewer.token };
}

/** The Authorization header value for `token`. */
export function bearer(token: string): string {
  return `Bearer ${token}`;
}
