/**
 * callback_url webhooks: the SSRF policy (URL table, allow-list, resolved
 * addresses), the body, and the dispatcher against a real store (embedded and
 * Redis) and a real HTTP receiver on 127.0.0.1.
 */
import t, { type Test } from 'tap';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedStore } from '../../src/store/index.js';
import type { EntityRef, Store } from '../../src/store/store.js';
import type { JsonObject, JsonValue } from '../../src/shared/json.js';
import { silentLogger } from '../../src/shared/logger.js';
import type { WebhooksConfig } from '../../src/shared/config.js';
import type { JobTerminalNotice } from '../../src/jobs/job-terminal.js';
import {
  WEBHOOK_DUE_QUEUE,
  WEBHOOK_OUTPUT_MAX_CHARS,
  WebhookDispatcher,
  buildWebhookBody,
  callbackUrlRefusal,
  compileTargetPolicy,
  deliveryIdOf,
  readWebhookDelivery,
  type HostLookup,
  type WebhookDelivery,
} from '../../src/jobs/webhooks/index.js';
import { parseIp, parseIpRange } from '../../src/jobs/webhooks/ip-address.js';
import { resolveCallbackTarget } from '../../src/jobs/webhooks/resolve-target.js';
import { newDelivery } from '../../src/jobs/webhooks/delivery-transitions.js';
import { webhookKey } from '../../src/jobs/webhooks/delivery-record.js';
import { makeRedisStore, startRedisServer } from '../fixtures/redis-server.js';
import { waitFor } from '../helpers/wait.js';

// ── policy ─────────────────────────────────────────────────────────────────

t.test('target policy: URLs refused and allowed with no allow-list', async (t) => {
  const config = { allowed_targets: [] };
  const cases: [url: string, refusal: RegExp | null][] = [
    ['https://example.com/hook', null],
    ['http://93.184.216.34:8080/x?y=1', null],
    ['http://[2606:4700::1111]/', null],
    ['http://172.32.0.1/', null],
    ['http://100.128.0.1/', null],
    ['http://[::ffff:8.8.8.8]/', null],
    ['ftp://example.com/hook', /must be an http or https URL/],
    ['not a url', /not a valid URL/],
    ['http://127.0.0.1:8080/', /127\.0\.0\.1 is a loopback address/],
    ['http://127.1/', /127\.0\.0\.1 is a loopback address/],
    ['http://2130706433/', /127\.0\.0\.1 is a loopback address/],
    ['http://0x7f000001/', /127\.0\.0\.1 is a loopback address/],
    ['http://localhost:3000/', /localhost is a loopback name/],
    ['http://api.localhost/', /api\.localhost is a loopback name/],
    ['http://LOCALHOST./', /localhost is a loopback name/],
    ['http://10.1.2.3/hook', /10\.1\.2\.3 is a private address/],
    ['http://172.16.0.1/', /private/],
    ['http://172.31.255.255/', /private/],
    ['http://192.168.1.1/', /private/],
    ['http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is a link-local address/],
    ['http://0.0.0.0/', /unspecified/],
    ['http://100.64.0.1/', /carrier-grade NAT/],
    ['http://224.0.0.1/', /multicast/],
    ['http://[::1]:9000/', /::1 is a loopback address/],
    ['http://[::]/', /unspecified/],
    ['http://[fc00::1]/', /private/],
    ['http://[fd12:3456::1]/', /private/],
    ['http://[fe80::1]/', /link-local/],
    ['http://[::ffff:127.0.0.1]/', /loopback/],
    ['http://[::ffff:169.254.169.254]/', /link-local/],
    ['http://[::ffff:a00:1]/', /private/],
    ['http://[64:ff9b::a9fe:a9fe]/', /link-local/],
  ];
  for (const [url, expected] of cases) {
    const refusal = callbackUrlRefusal(url, config);
    if (expected === null) t.equal(refusal, null, `${url} allowed`);
    else {
      t.match(refusal, expected, `${url} refused`);
      if (/address|name/.test(String(refusal))) t.match(refusal, /jobs\.webhooks\.allowed_targets/, `${url}: the message names the setting`);
    }
  }
});

t.test('target policy: allowed_targets lifts refusals for exact hosts, addresses and CIDR ranges', async (t) => {
  const config = { allowed_targets: ['127.0.0.1', '10.0.0.0/8', 'fd00::/8', '::1', 'Hooks.Internal', 'localhost'] };
  const cases: [url: string, allowed: boolean][] = [
    ['http://127.0.0.1:9000/', true],
    ['http://127.0.0.2/', false],
    ['http://[::ffff:127.0.0.1]/', true],
    ['http://10.9.9.9/', true],
    ['http://11.0.0.1/', true],
    ['http://192.168.0.1/', false],
    ['http://[fd00::5]/', true],
    ['http://[fc00::1]/', false],
    ['http://[::1]/', true],
    ['http://localhost/', true],
    ['http://api.localhost/', false],
    ['http://hooks.internal/', true],
  ];
  for (const [url, allowed] of cases) t.equal(callbackUrlRefusal(url, config) === null, allowed, `${url} ${allowed ? 'allowed' : 'refused'}`);
  t.throws(() => compileTargetPolicy({ allowed_targets: ['10.0.0.0/33'] }), /jobs\.webhooks\.allowed_targets: "10\.0\.0\.0\/33"/);
  t.throws(() => compileTargetPolicy({ allowed_targets: ['not a host!'] }), /neither a host name/);
});

t.test('ip parsing: v6 forms, v4 tails, ranges', async (t) => {
  t.same(parseIp('::ffff:1.2.3.4')?.bytes, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 1, 2, 3, 4]);
  t.same(parseIp('1::1.2.3.4')?.bytes, [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
  t.same(parseIp('[fe80::1%eth0]')?.bytes.slice(0, 2), [0xfe, 0x80]);
  t.same(parseIp('2001:db8::')?.bytes, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  t.equal(parseIp('example.com'), null);
  t.same(parseIpRange('10.0.0.0/8'), { family: 4, bytes: [10, 0, 0, 0], prefix: 8 });
  t.equal(parseIpRange('10.0.0.0/8/1'), null);
  t.equal(parseIpRange('::/129'), null);
});

t.test('delivery-time resolution: every resolved address must pass', async (t) => {
  const policy = compileTargetPolicy({ allowed_targets: ['hooks.internal'] });
  const answers: Record<string, string[]> = {
    'public.test': ['93.184.216.34', '2606:4700::1111'],
    'mixed.test': ['93.184.216.34', '10.0.0.5'],
    'mapped.test': ['::ffff:127.0.0.1'],
    'hooks.internal': ['10.0.0.5'],
  };
  const lookup: HostLookup = async (host) => {
    const addresses = answers[host];
    if (addresses === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  const resolve = (url: string) => resolveCallbackTarget(url, policy, lookup, 1_000);
  t.match(await resolve('https://public.test/hook'), { ok: true, target: { host: 'public.test', address: '93.184.216.34', family: 4 } });
  t.match(await resolve('https://mixed.test/hook'), { ok: false, retryable: false, error: /mixed\.test resolves to 10\.0\.0\.5, a private address/ });
  t.match(await resolve('https://mapped.test/hook'), { ok: false, retryable: false, error: /resolves to ::ffff:127\.0\.0\.1, a loopback address/ });
  t.match(await resolve('https://hooks.internal/hook'), { ok: true, target: { address: '10.0.0.5' } }, 'an allow-listed name may resolve anywhere');
  t.match(await resolve('https://nowhere.test/hook'), { ok: false, retryable: true, error: /cannot resolve nowhere\.test: .*ENOTFOUND/ });
  t.match(await resolve('http://[::1]/'), { ok: false, retryable: false, error: /loopback/ }, 'a literal is judged without a lookup');
});

// ── body ───────────────────────────────────────────────────────────────────

function notice(overrides: Partial<JobTerminalNotice> = {}): JobTerminalNotice {
  return {
    jobId: 'job_20260101_000000_abc123',
    accountId: 'acc_1',
    status: 'completed',
    project: 'my-project',
    type: 'structured_runner',
    error: null,
    recommendedAction: null,
    tags: ['nightly', 'v2'],
    clientRef: 'ref-7',
    callbackUrl: null,
    completedAt: Date.UTC(2026, 0, 1, 12, 30, 0),
    tasks: { total: 1, succeeded: 1, failed: 0, cancelled: 0, timedOut: 0 },
    ...overrides,
  };
}

/** Task read models whose `live_feedback.output_tail` is `outputs[index]` (null: printed nothing). */
function taskOutputs(outputs: readonly (string | null)[]): (refs: readonly EntityRef[]) => Promise<(JsonValue | null)[]> {
  return async (refs) =>
    refs.map((ref) => {
      const index = Number(/\.t(\d+)$/.exec(ref.id)?.[1]);
      const output = outputs[index];
      return output === undefined ? null : { id: ref.id, live_feedback: { output_tail: output } };
    });
}

t.test('body: the documented fields, output joined like the output endpoint and capped', async (t) => {
  const single = await buildWebhookBody(notice(), taskOutputs(['hello\n']));
  t.same(single, {
    event: 'job.terminal',
    job_id: 'job_20260101_000000_abc123',
    status: 'completed',
    project: 'my-project',
    type: 'structured_runner',
    output: 'hello\n',
    error: null,
    tags: ['nightly', 'v2'],
    progress: 1,
    completed_at: '2026-01-01T12:30:00.000Z',
    client_ref: 'ref-7',
    recommended_action: null,
    tasks: { total: 1, finished: 1, succeeded: 1, failed: 0, cancelled: 0, timed_out: 0 },
    output_truncated: false,
  });

  const partial = await buildWebhookBody(
    notice({ status: 'partial', error: '1 of 4 tasks failed', tasks: { total: 4, succeeded: 2, failed: 1, cancelled: 0, timedOut: 0 } }),
    taskOutputs(['a', null, 'c', null]),
  );
  t.equal(partial.output, '── job_20260101_000000_abc123.t0 ──\na\n── job_20260101_000000_abc123.t2 ──\nc');
  t.equal(partial.progress, 0.75);
  t.equal(partial.error, '1 of 4 tasks failed');

  const big = await buildWebhookBody(notice({ tasks: { total: 300, succeeded: 300, failed: 0, cancelled: 0, timedOut: 0 } }), taskOutputs(Array.from({ length: 300 }, () => 'x'.repeat(100))));
  t.equal((big.output as string).length, WEBHOOK_OUTPUT_MAX_CHARS);
  t.equal(big.output_truncated, true);

  const none = await buildWebhookBody(notice({ tasks: { total: 0, succeeded: 0, failed: 0, cancelled: 0, timedOut: 0 }, status: 'failed' }), taskOutputs([]));
  t.equal(none.progress, null, 'no tasks planned: no progress');
  t.equal(none.output, '');
});

// ── dispatcher ─────────────────────────────────────────────────────────────

interface Received {
  readonly at: number;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: JsonObject;
}

/** A local receiver; `answer(n, response)` answers the n-th request (1-based), 200 by default. */
async function startReceiver(t: Test, answer: (n: number, response: ServerResponse) => void = (_, response) => response.end('ok')) {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    let text = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (text += chunk));
    request.on('end', () => {
      received.push({ at: Date.now(), url: request.url ?? '', headers: request.headers, body: JSON.parse(text) as JsonObject });
      answer(received.length, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return { received, port: (server.address() as AddressInfo).port };
}

function status(code: number) {
  return (response: ServerResponse) => {
    response.statusCode = code;
    response.end(code >= 400 ? 'receiver says no' : 'ok');
  };
}

/** `store` whose `kvGet` answers `delayMs` after reading: what it returns may be stale by then. */
function withSlowReads(store: Store, delayMs: number): Store {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'kvGet') {
        return async (key: string) => {
          const entry = await target.kvGet(key);
          await new Promise((resolve) => setTimeout(resolve, delayMs));
          return entry;
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

const BASE_CONFIG: WebhooksConfig = { allowed_targets: ['127.0.0.1'], timeout_ms: 2_000, retries: 2, retry_backoff_ms: 40 };

function dispatcherBehaviour(t: Test, makeStore: (t: Test) => Promise<Store>) {
  const setup = async (t: Test, config: Partial<WebhooksConfig> = {}, lookup?: HostLookup, controllerId = 'c1', shared?: Store) => {
    const store = shared ?? (await makeStore(t));
    const dispatcher = new WebhookDispatcher({
      config: { ...BASE_CONFIG, ...config },
      store,
      readModels: taskOutputs(['printed by the runner\n']),
      logger: silentLogger(),
      controllerId,
      pollIntervalMs: 20,
      ...(lookup === undefined ? {} : { lookup }),
    });
    dispatcher.start();
    t.teardown(() => dispatcher.stop());
    return { store, dispatcher };
  };
  const finalRecord = (store: Store, deliveryId: string) =>
    waitFor(`delivery ${deliveryId} final`, async () => {
      const record = await readWebhookDelivery(store, deliveryId);
      return record !== null && (record.state === 'delivered' || record.state === 'failed') && record;
    });
  const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

  t.test('delivered once, with the documented body and headers', async (t) => {
    const receiver = await startReceiver(t);
    const { store, dispatcher } = await setup(t);
    const url = `http://127.0.0.1:${receiver.port}/hook?secret=s3`;
    const deliveryId = await dispatcher.enqueue(notice({ callbackUrl: url }), 'effect-1');
    t.equal(deliveryId, deliveryIdOf('effect-1'));
    const record = await finalRecord(store, deliveryId ?? '');
    t.match(record, { state: 'delivered', attempts: 1, last_status: 200, last_error: null, url });
    await settle();
    t.equal(receiver.received.length, 1, 'one POST');
    const [request] = receiver.received;
    t.equal(request?.url, '/hook?secret=s3');
    t.equal(request?.headers['content-type'], 'application/json');
    t.match(request?.headers['user-agent'], /^computalot-webhook\/\d+\.\d+\.\d+/);
    t.equal(request?.headers['x-computalot-event'], 'job.terminal');
    t.equal(request?.headers['x-computalot-delivery'], deliveryId);
    t.equal(request?.headers['x-computalot-attempt'], '1');
    t.match(request?.body, {
      event: 'job.terminal',
      job_id: 'job_20260101_000000_abc123',
      status: 'completed',
      project: 'my-project',
      type: 'structured_runner',
      output: 'printed by the runner\n',
      error: null,
      tags: ['nightly', 'v2'],
      progress: 1,
      completed_at: '2026-01-01T12:30:00.000Z',
      client_ref: 'ref-7',
    });
    t.equal(await store.queueSize(WEBHOOK_DUE_QUEUE), 0, 'nothing left in the due queue');
  });

  t.test('500, 500, then 200: three attempts with backoff, delivered', async (t) => {
    const receiver = await startReceiver(t, (n, response) => status(n <= 2 ? 500 : 200)(response));
    const { store, dispatcher } = await setup(t);
    const deliveryId = (await dispatcher.enqueue(notice({ callbackUrl: `http://127.0.0.1:${receiver.port}/` }), 'effect-2')) ?? '';
    t.match(await finalRecord(store, deliveryId), { state: 'delivered', attempts: 3, last_status: 200 });
    await settle();
    t.same(
      receiver.received.map((r) => r.headers['x-computalot-attempt']),
      ['1', '2', '3'],
    );
    t.same(new Set(receiver.received.map((r) => r.headers['x-computalot-delivery'])), new Set([deliveryId]), 'one delivery id for every attempt');
    const [first, second, third] = receiver.received.map((r) => r.at);
    t.ok((second ?? 0) - (first ?? 0) >= 40 - 5, 'first retry after retry_backoff_ms');
    t.ok((third ?? 0) - (second ?? 0) >= 80 - 5, 'second retry after twice that');
  });

  t.test('always 500: exactly 1 + retries attempts, then failed and kept', async (t) => {
    const receiver = await startReceiver(t, (_, response) => status(500)(response));
    const { store, dispatcher } = await setup(t);
    const deliveryId = (await dispatcher.enqueue(notice({ callbackUrl: `http://127.0.0.1:${receiver.port}/` }), 'effect-3')) ?? '';
    const record = await finalRecord(store, deliveryId);
    t.match(record, { state: 'failed', attempts: 3, max_attempts: 3, last_status: 500, last_error: /HTTP 500: receiver says no/ });
    t.ok(record.finished_at !== null);
    await settle();
    t.equal(receiver.received.length, 3, 'no fourth attempt');
    t.equal(await store.queueSize(WEBHOOK_DUE_QUEUE), 0);
  });

  t.test('the same effect enqueued twice (a replayed effect) delivers once', async (t) => {
    const receiver = await startReceiver(t);
    const { store, dispatcher } = await setup(t);
    const job = notice({ callbackUrl: `http://127.0.0.1:${receiver.port}/` });
    const [a, b] = await Promise.all([dispatcher.enqueue(job, 'effect-4'), dispatcher.enqueue(job, 'effect-4')]);
    t.equal(a, b);
    await finalRecord(store, a ?? '');
    t.equal(await dispatcher.enqueue(job, 'effect-4'), a, 'a replay after delivery');
    await settle();
    t.equal(receiver.received.length, 1);
    t.equal(await dispatcher.enqueue(notice(), 'effect-5'), null, 'a job without callback_url enqueues nothing');
  });

  t.test('refused at delivery: loopback name, or a name resolving to loopback; nothing sent', async (t) => {
    const receiver = await startReceiver(t);
    const lookup: HostLookup = async (host) => (host === 'hooks.example.test' ? [{ address: '127.0.0.1', family: 4 }] : []);
    const { store, dispatcher } = await setup(t, { allowed_targets: ['10.0.0.1'] }, lookup);
    const byName = (await dispatcher.enqueue(notice({ callbackUrl: `http://localhost:${receiver.port}/hook` }), 'effect-6')) ?? '';
    const byDns = (await dispatcher.enqueue(notice({ callbackUrl: `http://hooks.example.test:${receiver.port}/hook` }), 'effect-7')) ?? '';
    t.match(await finalRecord(store, byName), { state: 'failed', attempts: 1, last_status: null, last_error: /localhost is a loopback name.*jobs\.webhooks\.allowed_targets/ });
    t.match(await finalRecord(store, byDns), { state: 'failed', attempts: 1, last_error: /hooks\.example\.test resolves to 127\.0\.0\.1, a loopback address/ });
    await settle();
    t.equal(receiver.received.length, 0, 'not sent');
  });

  t.test('an allowed name connects to the vetted address, with its own Host header', async (t) => {
    const receiver = await startReceiver(t);
    const lookup: HostLookup = async () => [{ address: '127.0.0.1', family: 4 }];
    const { store, dispatcher } = await setup(t, { allowed_targets: ['receiver.test'] }, lookup);
    const deliveryId = (await dispatcher.enqueue(notice({ callbackUrl: `http://receiver.test:${receiver.port}/in` }), 'effect-8')) ?? '';
    t.match(await finalRecord(store, deliveryId), { state: 'delivered' });
    t.equal(receiver.received[0]?.headers.host, `receiver.test:${receiver.port}`);
  });

  t.test('a receiver that never answers times out', async (t) => {
    const receiver = await startReceiver(t, () => undefined);
    const { store, dispatcher } = await setup(t, { timeout_ms: 150, retries: 0 });
    const deliveryId = (await dispatcher.enqueue(notice({ callbackUrl: `http://127.0.0.1:${receiver.port}/` }), 'effect-9')) ?? '';
    t.match(await finalRecord(store, deliveryId), { state: 'failed', attempts: 1, last_error: /no answer within 150 ms/ });
  });

  t.test('a claim whose controller died is taken again; on the last attempt it fails', async (t) => {
    const receiver = await startReceiver(t);
    const store = await makeStore(t);
    const now = await store.now();
    const orphan = (id: string, attempts: number): WebhookDelivery => ({
      ...newDelivery({ deliveryId: id, jobId: 'job_x', accountId: 'acc_1', url: `http://127.0.0.1:${receiver.port}/`, body: { event: 'job.terminal' }, maxAttempts: 3, now: now - 60_000 }),
      state: 'delivering',
      attempts,
      claimed_by: 'dead-controller',
      next_attempt_at: now - 1,
      last_error: attempts === 3 ? 'HTTP 502' : null,
    });
    await store.kvSet(webhookKey('whd_orphan1'), orphan('whd_orphan1', 1));
    await store.kvSet(webhookKey('whd_orphan3'), orphan('whd_orphan3', 3));
    await store.queuePush(WEBHOOK_DUE_QUEUE, [
      { member: 'whd_orphan1', score: now - 1 },
      { member: 'whd_orphan3', score: now - 1 },
      { member: 'whd_gone', score: now - 1 },
    ]);
    await setup(t, {}, undefined, 'c2', store);
    t.match(await finalRecord(store, 'whd_orphan1'), { state: 'delivered', attempts: 2 }, 'interrupted attempt counted, the next one delivered');
    t.match(await finalRecord(store, 'whd_orphan3'), { state: 'failed', attempts: 3, last_error: /attempt 3 of 3 was interrupted.*before that: HTTP 502/ });
    t.equal(receiver.received.length, 1);
    await waitFor('queue cleaned', async () => (await store.queueSize(WEBHOOK_DUE_QUEUE)) === 0, 5_000);
  });

  t.test('two dispatchers on one store: each delivery is sent once', async (t) => {
    const receiver = await startReceiver(t);
    // Slow reads widen the race: both controllers read the same version, and the CAS picks one.
    const store = withSlowReads(await makeStore(t), 40);
    const { dispatcher } = await setup(t, {}, undefined, 'c1', store);
    await setup(t, {}, undefined, 'c2', store);
    const ids = await Promise.all(Array.from({ length: 8 }, (_, i) => dispatcher.enqueue(notice({ jobId: `job_${i}`, callbackUrl: `http://127.0.0.1:${receiver.port}/` }), `fx-${i}`)));
    for (const id of ids) await finalRecord(store, id ?? '');
    await settle();
    t.equal(receiver.received.length, 8);
    t.equal(new Set(receiver.received.map((r) => r.headers['x-computalot-delivery'])).size, 8);
  });

  t.test('stop aborts an attempt in flight and gives the claim back uncounted', async (t) => {
    const receiver = await startReceiver(t, () => undefined);
    const store = await makeStore(t);
    const dispatcher = new WebhookDispatcher({ config: { ...BASE_CONFIG, timeout_ms: 60_000 }, store, readModels: taskOutputs([]), logger: silentLogger(), controllerId: 'c1', pollIntervalMs: 20 });
    dispatcher.start();
    const deliveryId = (await dispatcher.enqueue(notice({ callbackUrl: `http://127.0.0.1:${receiver.port}/` }), 'effect-10')) ?? '';
    await waitFor('attempt in flight', () => receiver.received.length === 1);
    const started = Date.now();
    await dispatcher.stop();
    t.ok(Date.now() - started < 2_000, 'stop does not wait for the receiver');
    t.match(await readWebhookDelivery(store, deliveryId), { state: 'pending', attempts: 0, claimed_by: null });
    t.equal(await store.queueSize(WEBHOOK_DUE_QUEUE), 1, 'still due for the next controller');
  });
}

t.test('dispatcher on the embedded store', async (t) => {
  dispatcherBehaviour(t, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'computalot-webhooks-'));
    const store = await EmbeddedStore.open({ dataDir: dir, shardCount: 4, fsync: 'batch' });
    t.teardown(async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    });
    return store;
  });
});

t.test('dispatcher on Redis', async (t) => {
  const server = await startRedisServer(t);
  dispatcherBehaviour(t, async (t) => {
    const store = await makeRedisStore(server, { shardCount: 4 });
    t.teardown(() => store.close());
    return store;
  });
});
