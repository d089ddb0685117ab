import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { actorKinds } from '../../src/actors/index.js';
import { ControllerNode } from '../../src/actors/runtime/index.js';
import {
  AccountNotFoundError,
  ApiKeyNotFoundError,
  CredentialService,
  InvalidAccountNameError,
  accountOpenEventId,
  credentialKeys,
  hashToken,
  storeActorMailbox,
} from '../../src/accounts/index.js';
import { EmbeddedStore, type MailboxMessage, type Store } from '../../src/store/index.js';
import { makeRedisStore, randomPrefix, startRedisServer } from '../fixtures/redis-server.js';
import { waitFor } from '../helpers/wait.js';

const SHARDS = 4;

async function embeddedStore(t: Test): Promise<{ store: EmbeddedStore; dataDir: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'computalot-accounts-'));
  const store = await EmbeddedStore.open({ dataDir, shardCount: SHARDS });
  t.teardown(async () => {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  return { store, dataDir };
}

function service(store: Store, extra: { cacheTtlMs?: number; now?: () => number } = {}): CredentialService {
  return new CredentialService({ store, mailbox: storeActorMailbox(store), ...extra });
}

/** Every message waiting in the store's mailboxes (read as a throwaway consumer). */
async function mailboxMessages(store: Store): Promise<MailboxMessage[]> {
  const shards = Array.from({ length: store.shardCount }, (_, shard) => shard);
  const deliveries = await store.readMailbox(shards, `test-${randomPrefix()}`, { count: 1_000, blockMs: 0 });
  return deliveries.map((delivery) => delivery.message);
}

/** The lifecycle every store must support: issue, resolve, list, revoke. */
async function keyLifecycle(t: Test, store: Store): Promise<void> {
  const credentials = service(store);
  const { account, created } = await credentials.createAccount('alice');
  t.ok(created);
  t.match(account, { id: /^acct_[a-z0-9]{16}$/, name: 'alice', created_at: String });

  const member = await credentials.issueApiKey('alice', 'member', 'laptop');
  t.match(member.token, /^flk_[A-Za-z0-9]{40}$/, 'flk_ + 40 base62 characters');
  t.match(member.key, { key_id: /^key_/, account_id: account.id, role: 'member', label: 'laptop' });
  t.notOk('revoked_at' in member.key);
  const viewer = await credentials.issueApiKey(account.id, 'viewer', null);
  t.not(viewer.token, member.token);

  t.same(await credentials.resolveToken(member.token), { ok: true, credential: { accountId: account.id, role: 'member', credentialId: member.key.key_id, kind: 'api_key' } });
  t.match(await credentials.resolveToken(viewer.token), { ok: true, credential: { role: 'viewer', credentialId: viewer.key.key_id } });

  const listed = await credentials.listKeys(account.id);
  t.same(listed.map((key) => key.key_id).sort(), [member.key.key_id, viewer.key.key_id].sort());

  const revoked = await credentials.revokeApiKey(member.key.key_id);
  t.match(revoked, { key_id: member.key.key_id, revoked_at: String });
  t.same(await credentials.resolveToken(member.token), { ok: false, reason: 'revoked' }, 'revoked at once in the revoking process');
  t.equal((await credentials.revokeApiKey(member.key.key_id)).revoked_at, revoked.revoked_at, 'revoking twice keeps the first time');
  t.match(await credentials.resolveToken(viewer.token), { ok: true }, 'other keys unaffected');
  t.match((await credentials.listKeys(account.id)).find((key) => key.key_id === member.key.key_id), { revoked_at: String });

  // Nothing stored anywhere holds a secret; the key record is found by hash.
  const everything = JSON.stringify(await store.kvList(''));
  for (const token of [member.token, viewer.token]) {
    t.notMatch(everything, token.slice(4), 'no secret in KV');
    t.ok(await store.kvGet(credentialKeys.apiKey(hashToken(token))), 'record under the hash');
  }
}

t.test('API keys on the embedded store; secrets never reach its files', async (t) => {
  const { store, dataDir } = await embeddedStore(t);
  await keyLifecycle(t, store);
  const credentials = service(store);
  const { token } = await credentials.issueApiKey('alice', 'member', 'file scan');
  await store.close();
  const files = await readdir(dataDir);
  t.ok(files.length > 0);
  for (const file of files) {
    const content = await readFile(join(dataDir, file), 'utf8');
    t.notMatch(content, token.slice(4), `${file} holds no secret`);
    if (content.includes('apikey:')) t.match(content, hashToken(token).slice(0, 16));
  }
});

t.test('API keys on Redis; revocation from another process shows after the cache TTL', async (t) => {
  const server = await startRedisServer(t);
  const prefix = randomPrefix();
  const store = await makeRedisStore(server, { prefix, shardCount: SHARDS });
  const otherProcessStore = await makeRedisStore(server, { prefix, shardCount: SHARDS });
  t.teardown(async () => {
    await store.close();
    await otherProcessStore.close();
  });
  await keyLifecycle(t, store);

  let clock = 1_000_000;
  const controller = service(store, { cacheTtlMs: 5_000, now: () => clock });
  const admin = service(otherProcessStore);
  const { token, key } = await admin.issueApiKey('alice', 'member', 'to revoke');
  t.match(await controller.resolveToken(token), { ok: true });
  await admin.revokeApiKey(key.key_id);
  clock += 4_999;
  t.match(await controller.resolveToken(token), { ok: true }, 'still cached inside the TTL');
  clock += 1;
  t.same(await controller.resolveToken(token), { ok: false, reason: 'revoked' }, 'refused once the TTL has passed');
});

t.test('malformed, unknown and corrupt tokens are refused', async (t) => {
  const { store } = await embeddedStore(t);
  const credentials = service(store);
  for (const token of ['', 'abc', 'flk_short', `flk_${'a'.repeat(39)}-`, `flx_${'a'.repeat(40)}`, `Bearer flk_${'a'.repeat(40)}`]) {
    t.same(await credentials.resolveToken(token), { ok: false, reason: 'malformed' }, JSON.stringify(token));
  }
  t.same(await credentials.resolveToken(`flk_${'a'.repeat(40)}`), { ok: false, reason: 'unknown' });
  t.same(await credentials.resolveToken(`fls_${'a'.repeat(40)}`), { ok: false, reason: 'unknown' });

  const corrupt = `flk_${'b'.repeat(40)}`;
  await store.kvSet(credentialKeys.apiKey(hashToken(corrupt)), { account_id: 'acct_x', role: 'admin' });
  t.same(await credentials.resolveToken(corrupt), { ok: false, reason: 'unknown' }, 'a record that does not parse grants nothing');

  await t.rejects(credentials.issueApiKey('nobody'), AccountNotFoundError);
  await t.rejects(credentials.revokeApiKey('key_nothere'), ApiKeyNotFoundError);
  await t.rejects(credentials.createAccount('bad name!'), InvalidAccountNameError);
});

t.test('wallet sessions (fls_) resolve until they expire', async (t) => {
  const { store } = await embeddedStore(t);
  let clock = Date.now();
  const credentials = service(store, { cacheTtlMs: 600_000, now: () => clock });
  const { account } = await credentials.createAccount('wallet-user');
  const { token, session } = await credentials.issueWalletSession(account.id, { ttlMs: 60_000, role: 'viewer', walletAddress: '0xabc' });
  t.match(token, /^fls_[A-Za-z0-9]{40}$/);
  t.same(await credentials.resolveToken(token), { ok: true, credential: { accountId: account.id, role: 'viewer', credentialId: session.session_id, kind: 'wallet_session' } });
  t.notMatch(JSON.stringify(await store.kvList('')), token.slice(4));
  clock += 60_000;
  t.same(await credentials.resolveToken(token), { ok: false, reason: 'expired' }, 'the cache never outlives the session');
});

t.test('account creation is idempotent, race-safe and opens the actor once', async (t) => {
  const { store } = await embeddedStore(t);
  const credentials = service(store);
  const results = await Promise.all(Array.from({ length: 5 }, () => credentials.createAccount('racer')));
  const ids = new Set(results.map((result) => result.account.id));
  t.equal(ids.size, 1, 'one account');
  t.equal(results.filter((result) => result.created).length, 1, 'exactly one call created it');
  const [id] = [...ids] as [string];
  t.same(await credentials.accounts.resolve('racer'), await credentials.accounts.resolve(id), 'found by name and by id');

  const opens = (await mailboxMessages(store)).filter((message) => message.target.id === id);
  t.ok(opens.length >= 1);
  t.ok(
    opens.every((message) => message.eventId === accountOpenEventId(id) && message.target.kind === 'account'),
    'every send carries the same deterministic event id',
  );
  t.match(opens[0]?.event, { type: 'account.open', label: 'racer' });

  // A creation that crashed after claiming the name is completed by the next call, with the same id.
  await store.kvSet(credentialKeys.accountName('half-made'), { id: 'acct_halfmade0000000' });
  const repaired = await credentials.createAccount('half-made');
  t.same({ id: repaired.account.id, created: repaired.created }, { id: 'acct_halfmade0000000', created: true });
  t.ok((await mailboxMessages(store)).some((message) => message.eventId === accountOpenEventId('acct_halfmade0000000')));
  t.equal((await credentials.createAccount('half-made')).created, false);
});

t.test('the account actor is opened by the running controller', async (t) => {
  const { store } = await embeddedStore(t);
  const node = new ControllerNode({ store, kinds: actorKinds, logger: pino({ level: 'silent' }), leaseTtlMs: 1_500, heartbeatIntervalMs: 200 });
  await node.start();
  t.teardown(() => node.stop());
  // The node itself is an ActorMailbox, as in the controller.
  const credentials = new CredentialService({ store, mailbox: node });
  const { account } = await credentials.createAccount('funded');
  const ref = { kind: 'account', id: account.id };
  const view = await waitFor('the account read model', async () => (await node.readModels([ref]))[0] ?? undefined);
  t.match(view, { account_id: account.id, currency: 'USD', available_usd: 0 });
  await credentials.createAccount('funded');
  t.same((await node.readModels([ref]))[0], view, 'a second create changes nothing');
});
