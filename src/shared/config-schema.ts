/**
 * The one schema for `cluster.yml` (and, through config-env.ts, for `COMPUTALOT_*`
 * variables). Every field carries its description, unit and default here;
 * docs/configuration.md is generated from this file (`npm run gen:config-docs`)
 * and a test fails when the two drift apart.
 *
 * Objects are strict: a misspelt key is an error, not a silently ignored setting.
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import { DEFAULT_SHARD_COUNT } from './shards.js';
import { randomAlnum } from './ids.js';
import { LOG_LEVELS } from './logger.js';

/** An integer in `[min, max]` whose every failure reads the same, plain message. */
function integerBetween(min: number, max: number) {
  const error = `expected a number between ${min} and ${max}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

/** A TCP port; 0 asks the OS for a free one (the real port is logged). */
const port = () => integerBetween(0, 65535);

const hostSchema = z.string({ error: 'expected a host name or IP address' }).min(1, { error: 'expected a host name or IP address' });

/** Ids, names and prefixes end up in Redis keys and log lines: keep them plain. */
const plainName = (what: string, maxLength: number) =>
  z
    .string({ error: `expected ${what}` })
    .regex(new RegExp(`^[A-Za-z0-9][A-Za-z0-9._-]{0,${maxLength - 1}}$`), {
      error: `expected ${what}: letters, digits, '.', '_' or '-', at most ${maxLength} characters`,
    });

const storeSchema = z
  .strictObject({
    kind: z
      .enum(['embedded', 'redis'], { error: "expected 'embedded' or 'redis'" })
      .optional()
      .describe("Store backend. Default: 'redis' when redis_url or redis_path is set, otherwise 'embedded'."),
    redis_url: z
      .string()
      .regex(/^rediss?:\/\//, { error: 'expected a redis:// or rediss:// URL' })
      .optional()
      .describe('Redis URL (redis://[user:pass@]host:port[/db]). Exactly one of redis_url and redis_path with kind redis.'),
    redis_path: z
      .string()
      .min(1, { error: 'expected a unix socket path' })
      .optional()
      .describe('Path of a Redis unix socket; preferred over TCP on one host.'),
    key_prefix: plainName('a key prefix', 32)
      .default('cl')
      .describe('Prefix of every Redis key, so several clusters can share one Redis.'),
    data_dir: z
      .string()
      .min(1, { error: 'expected a directory path' })
      .default('./.computalot')
      .describe('Directory for the embedded store and local caches; relative paths are relative to the working directory.'),
    blob_dir: z
      .string()
      .min(1, { error: 'expected a directory path' })
      .optional()
      .describe(
        'Directory of content-addressed blobs (project tarballs). Default: <data_dir>/blobs. Every controller of a cluster must see the same directory (one host or a shared mount).',
      ),
  })
  .superRefine((store, ctx) => {
    const redisTargets = [store.redis_url, store.redis_path].filter((value) => value !== undefined).length;
    if (store.kind === 'redis' && redisTargets !== 1) {
      ctx.addIssue({ code: 'custom', path: ['kind'], message: 'redis needs exactly one of store.redis_url or store.redis_path' });
    }
    if (store.kind === 'embedded' && redisTargets > 0) {
      ctx.addIssue({ code: 'custom', path: ['kind'], message: 'redis_url/redis_path are set but store.kind is embedded; remove one or the other' });
    }
    if (store.kind === undefined && redisTargets > 1) {
      ctx.addIssue({ code: 'custom', path: ['redis_url'], message: 'set only one of redis_url or redis_path' });
    }
  })
  .transform((store) => ({
    ...store,
    kind: store.kind ?? (store.redis_url !== undefined || store.redis_path !== undefined ? ('redis' as const) : ('embedded' as const)),
  }));

const listenerSchema = (defaultPort: number, what: string) =>
  z
    .strictObject({
      host: hostSchema.default('127.0.0.1').describe(`Interface the ${what} binds; 0.0.0.0 for all.`),
      port: port().default(defaultPort).describe(`TCP port of the ${what}; 0 picks a free port.`),
    })
    .prefault({});

const controllerSchema = z
  .strictObject({
    id: plainName('a controller id', 128)
      .optional()
      .describe('Unique id of this controller in the cluster. Default: <hostname>-<pid>-<6 random chars>, new on every start.'),
    replicas: integerBetween(1, 64)
      .default(1)
      .describe('`cluster up` only: controller processes to start. Replica i listens on http.port + i and grpc.port + i.'),
    http: listenerSchema(8080, 'REST/SSE gateway').describe('REST/SSE gateway listener.'),
    grpc: listenerSchema(50051, 'agent gRPC endpoint').describe('gRPC endpoint node agents connect to.'),
    agent_token: z
      .string({ error: 'expected a token of at least 16 characters' })
      .min(16, { error: 'expected a token of at least 16 characters' })
      .regex(/^\S+$/, { error: 'expected a token without whitespace' })
      .optional()
      .describe(
        'Shared secret node agents present (`authorization: Bearer …`) on the agent gRPC endpoint; agents read the same setting. Required when grpc.host is not a loopback address. Prefer COMPUTALOT_AGENT_TOKEN over the file.',
      ),
    lease_ttl_ms: integerBetween(1000, 600_000)
      .default(10_000)
      .describe('Shard lease time-to-live in ms: how long a dead controller keeps its shards before others take them.'),
    heartbeat_interval_ms: integerBetween(100, 60_000)
      .default(2000)
      .describe('How often the controller renews its membership and leases and rebalances shards, in ms; at most a third of lease_ttl_ms.'),
  })
  .superRefine((controller, ctx) => {
    // A third, as the controller node expects: two renewals may fail before a lease lapses.
    if (controller.heartbeat_interval_ms * 3 > controller.lease_ttl_ms) {
      ctx.addIssue({
        code: 'custom',
        path: ['heartbeat_interval_ms'],
        message: `must be at most a third of lease_ttl_ms (${controller.lease_ttl_ms}) so a missed renewal does not lose the leases`,
      });
    }
    const { http, grpc } = controller;
    if (http.port !== 0 && http.port === grpc.port && http.host === grpc.host) {
      ctx.addIssue({ code: 'custom', path: ['grpc', 'port'], message: `clashes with http.port ${http.port}` });
    }
  })
  .transform((controller) => ({ ...controller, id: controller.id ?? defaultControllerId() }))
  .prefault({});

const gpuSchema = z.strictObject({
  index: integerBetween(0, 63).describe('CUDA device index.'),
  name: z.string().min(1).describe('Device name, e.g. "NVIDIA H200".'),
  memory_mb: integerBetween(1, 10_000_000).describe('Device memory in MiB.'),
});

const agentGroupSchema = z.strictObject({
  name: plainName('an agent group name', 64)
    .optional()
    .describe('Group name; agent ids are <name>-<n>. Default: pool-<position in the list, from 1>.'),
  count: integerBetween(1, 1024).default(1).describe('Agents to start with this shape.'),
  cpu: integerBetween(1, 4096).default(2).describe('CPU cores each agent advertises.'),
  memory_mb: integerBetween(64, 100_000_000).default(2048).describe('Memory each agent advertises, in MiB.'),
  storage_gb: integerBetween(1, 1_000_000).default(10).describe('Scratch/artifact storage each agent advertises, in GiB.'),
  profile: z.enum(['cpu', 'gpu'], { error: "expected 'cpu' or 'gpu'" }).default('cpu').describe('Resource profile advertised to the scheduler.'),
  gpus: z.array(gpuSchema).default([]).describe('Declared GPUs; empty means detect with nvidia-smi when profile is gpu.'),
  sandbox: z
    .enum(['auto', 'nsjail', 'bwrap', 'gvisor', 'process'], { error: "expected one of 'auto', 'nsjail', 'bwrap', 'gvisor', 'process'" })
    .default('auto')
    .describe("Sandbox backend for project code; 'auto' picks the strongest available."),
  allow_unsandboxed: z
    .boolean({ error: 'expected true or false' })
    .default(false)
    .describe("Allow the 'process' backend (no isolation) for project code. Never needed with a real sandbox installed."),
  labels: z.record(z.string(), z.string()).default({}).describe('Placement labels the agents advertise.'),
});

const agentsSchema = z
  .array(agentGroupSchema)
  .default([])
  .describe('`cluster up` only: node agents to start. `computalot dev` always runs one local agent of its own.')
  .superRefine((groups, ctx) => {
    const seen = new Set<string>();
    groups.forEach((group, index) => {
      const name = group.name ?? defaultAgentGroupName(index);
      if (seen.has(name)) ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `duplicate agent group name '${name}'` });
      seen.add(name);
    });
  })
  .transform((groups) => groups.map((group, index) => ({ ...group, name: group.name ?? defaultAgentGroupName(index) })));

const webhooksSchema = z
  .strictObject({
    allowed_targets: z
      .array(z.string().min(1, { error: 'expected a host name, IP address or CIDR range' }))
      .default([])
      .describe(
        'Hosts, IP addresses or CIDR ranges (e.g. 127.0.0.1, 10.0.0.0/8, hooks.internal) that callback_url may name although they are loopback, private or link-local. Everything else of that kind is refused at submit, and again when resolved at delivery, so a job cannot make the controller call its own network. In the environment: a comma-separated list.',
      ),
    timeout_ms: integerBetween(100, 120_000).default(10_000).describe('How long one webhook POST may take, in ms.'),
    retries: integerBetween(0, 10).default(2).describe('Further attempts after a failed webhook POST (the reference: 2), with exponential backoff.'),
    retry_backoff_ms: integerBetween(10, 600_000).default(5_000).describe('Delay before the first retry, in ms; doubles for each further one.'),
  })
  .prefault({});

const jobsSchema = z
  .strictObject({
    retention_days: integerBetween(1, 3650)
      .default(30)
      .describe('Days a terminal job, its tasks and results stay queryable (the reference: 30) before they are deleted.'),
    webhooks: webhooksSchema.describe('callback_url delivery.'),
  })
  .prefault({});

/** The whole `cluster.yml`. Parse with `loadConfig`, not directly: it adds env and error sources. */
export const clusterConfigSchema = z
  .strictObject({
    store: storeSchema.prefault({}).describe('Where all cluster state lives.'),
    shards: integerBetween(1, 4096)
      .default(DEFAULT_SHARD_COUNT)
      .describe('Virtual shards entities hash into. Fixed for the life of a store: changing it re-homes every entity.'),
    controller: controllerSchema.describe('This controller process.'),
    agents: agentsSchema,
    jobs: jobsSchema.describe('Job engine settings: retention and webhooks.'),
    log_level: z
      .enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` })
      .default('info')
      .describe('Minimum level of log lines written to stdout.'),
  })
  .superRefine((config, ctx) => {
    if (config.store.kind === 'embedded' && config.controller.replicas > 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['controller', 'replicas'],
        message: 'the embedded store serves one controller; use store.kind redis for more replicas',
      });
    }
  });

/** Validated configuration with every default filled in. */
export type ClusterConfig = z.output<typeof clusterConfigSchema>;
/** What `cluster.yml` may contain: every field optional. */
export type ClusterConfigInput = z.input<typeof clusterConfigSchema>;
export type StoreConfig = ClusterConfig['store'];
export type ControllerConfig = ClusterConfig['controller'];
export type AgentGroupConfig = ClusterConfig['agents'][number];
export type JobsConfig = ClusterConfig['jobs'];
export type WebhooksConfig = JobsConfig['webhooks'];

function defaultControllerId(): string {
  return `${hostname().replace(/[^A-Za-z0-9._-]/g, '-')}-${process.pid}-${randomAlnum(6)}`;
}

function defaultAgentGroupName(index: number): string {
  return `pool-${index + 1}`;
}
