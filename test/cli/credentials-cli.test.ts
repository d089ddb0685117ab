import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { CredentialService, accountOpenEventId, storeActorMailbox } from '../../src/accounts/index.js';
import { EmbeddedStore, type Store } from '../../src/store/index.js';
import { makeRedisStore, randomPrefix, startRedisServer } from '../fixtures/redis-server.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(repoRoot, 'bin/computalot.js');

/** The environment without COMPUTALOT_* settings, so only what a test passes applies. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { COMPUTALOT_LOG_LEVEL: 'warn' };
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('COMPUTALOT_')) env[name] = value;
  return env;
}

async function tempDir(t: Test, name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `computalot-${name}-`));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs `computalot …args` to completion in `cwd`. */
function runCli(args: readonly string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

function printedKey(stdout: string): string {
  const match = /^API key: (flk_[A-Za-z0-9]+)/m.exec(stdout);
  if (match?.[1] === undefined) throw new Error(`no API key printed:\n${stdout}`);
  return match[1];
}

t.test('admin keys create / list / revoke against Redis, end to end', async (t) => {
  const server = await startRedisServer(t);
  const dir = await tempDir(t, 'admin');
  const prefix = randomPrefix();
  const configFile = join(dir, 'cluster.yml');
  await writeFile(configFile, `store:\n  redis_path: ${server.path}\n  key_prefix: ${prefix}\nshards: 8\n`);
  const store = await makeRedisStore(server, { prefix, shardCount: 8 });
  t.teardown(() => store.close());
  const credentials = new CredentialService({ store, mailbox: storeActorMailbox(store), cacheTtlMs: 0 });

  const created = await runCli(['admin', 'keys', 'create', '--account', 'a', '--role', 'viewer', '--label', 'ci bot', '--config', configFile], dir);
  t.equal(created.code, 0, created.stderr);
  t.match(created.stdout, /^Account: a \(acct_[a-z0-9]+\), created$/m);
  t.match(created.stdout, /^Role:    viewer$/m);
  t.match(created.stdout, /^Label:   ci bot$/m);
  const token = printedKey(created.stdout);
  const resolved = await credentials.resolveToken(token);
  if (!resolved.ok) throw new Error(`printed key does not resolve: ${resolved.reason}`);
  t.equal(resolved.credential.role, 'viewer');
  const account = await credentials.accounts.resolve('a');
  t.equal(resolved.credential.accountId, account.id);
  const shards = Array.from({ length: 8 }, (_, shard) => shard);
  const queued = await store.readMailbox(shards, 'test-reader', { count: 100, blockMs: 0 });
  t.ok(
    queued.some((delivery) => delivery.message.eventId === accountOpenEventId(account.id)),
    'account.open is waiting in the mailbox for a controller',
  );

  const second = await runCli(['admin', 'keys', 'create', '--account', 'a', '--config', configFile], dir);
  t.equal(second.code, 0, second.stderr);
  t.match(second.stdout, new RegExp(`^Account: a \\(${account.id}\\)$`, 'm'), 'reuses the account');
  t.match(second.stdout, /^Role:    member$/m, 'member by default');

  const listed = await runCli(['admin', 'keys', 'list', '--account', 'a', '--config', configFile], dir);
  t.equal(listed.code, 0, listed.stderr);
  t.match(listed.stdout, /^KEY_ID\s+ROLE\s+STATUS\s+CREATED\s+LABEL$/m);
  t.match(listed.stdout, new RegExp(`^${resolved.credential.credentialId}\\s+viewer\\s+active\\s+\\S+\\s+ci bot$`, 'm'));
  t.notMatch(listed.stdout, token, 'secrets are never listed');

  const revoked = await runCli(['admin', 'keys', 'revoke', resolved.credential.credentialId, '--config', configFile], dir);
  t.equal(revoked.code, 0, revoked.stderr);
  t.match(revoked.stdout, `Revoked ${resolved.credential.credentialId}`);
  t.same(await credentials.resolveToken(token), { ok: false, reason: 'revoked' });

  const unknown = await runCli(['admin', 'keys', 'revoke', 'key_missing', '--config', configFile], dir);
  t.equal(unknown.code, 1);
  t.equal(unknown.stderr, "computalot admin: no API key with id 'key_missing'\n");

  const usage = await runCli(['admin', 'keys', 'create', '--role', 'owner', '--account', 'a'], dir);
  t.equal(usage.code, 2);
  t.match(usage.stderr, /^computalot admin: --role must be one of member, viewer, got 'owner'\n\nUsage: computalot admin/);
});

t.test('admin on a locked embedded store says to stop dev or use the dev key', async (t) => {
  const dataDir = await tempDir(t, 'locked');
  const store = await EmbeddedStore.open({ dataDir, shardCount: 4 });
  t.teardown(() => store.close());
  const result = await runCli(['admin', 'keys', 'create', '--account', 'a', '--data-dir', dataDir, '--shards', '4'], dataDir);
  t.equal(result.code, 1);
  t.match(result.stderr, `in use by process ${process.pid} (probably \`computalot dev\`)`);
  t.match(result.stderr, join(dataDir, 'dev-api-key'));
});

/** Runs `computalot dev` until it listens and answers /ready, then stops it; returns its stdout. */
async function runDevOnce(t: Test, dataDir: string): Promise<string> {
  const child = spawn(process.execPath, [cli, 'dev', '--port', '0', '--data-dir', dataDir, '--shards', '4'], { cwd: dataDir, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /^Computalot listening on (http:\/\/\S+)$/m.exec(stdout);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    void exited.then((code) => reject(new Error(`dev exited with ${code} before listening:\n${stdout}${stderr}`)));
  });
  for (let attempt = 0; attempt < 100 && (await fetch(`${url}/ready`)).status !== 200; attempt++) await new Promise((resolve) => setTimeout(resolve, 100));
  child.kill('SIGTERM');
  t.equal(await exited, 0, `dev stops cleanly\n${stderr}`);
  return stdout;
}

async function withDevStore<T>(dataDir: string, use: (credentials: CredentialService, store: Store) => Promise<T>): Promise<T> {
  const store = await EmbeddedStore.open({ dataDir, shardCount: 4 });
  try {
    return await use(new CredentialService({ store, mailbox: storeActorMailbox(store), cacheTtlMs: 0 }), store);
  } finally {
    await store.close();
  }
}

t.test('computalot dev issues a local key once, saves it 0600, reuses it, replaces a revoked one', async (t) => {
  const dataDir = await tempDir(t, 'dev-key');
  const keyFile = join(dataDir, 'dev-api-key');

  const first = printedKey(await runDevOnce(t, dataDir));
  t.equal((await readFile(keyFile, 'utf8')).trim(), first, 'saved to <data-dir>/dev-api-key');
  t.equal((await stat(keyFile)).mode & 0o777, 0o600, 'readable by the owner only');

  const second = printedKey(await runDevOnce(t, dataDir));
  t.equal(second, first, 'a restart reuses the saved key');

  const keyId = await withDevStore(dataDir, async (credentials) => {
    const resolved = await credentials.resolveToken(first);
    if (!resolved.ok) throw new Error(`dev key does not resolve: ${resolved.reason}`);
    t.equal(resolved.credential.role, 'member');
    const local = await credentials.accounts.resolve('local');
    t.equal(resolved.credential.accountId, local.id, 'belongs to the account local');
    return resolved.credential.credentialId;
  });
  await withDevStore(dataDir, (credentials) => credentials.revokeApiKey(keyId));

  const third = printedKey(await runDevOnce(t, dataDir));
  t.not(third, first, 'a revoked saved key is replaced');
  t.equal((await readFile(keyFile, 'utf8')).trim(), third);
  await withDevStore(dataDir, async (credentials) => {
    t.match(await credentials.resolveToken(third), { ok: true });
    t.equal((await credentials.listKeys((await credentials.accounts.resolve('local')).id)).length, 2, 'same account, one new key');
  });
});
