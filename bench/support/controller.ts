/**
 * Shared bench plumbing: a private redis-server, a real controller (the
 * product's `serveController`: HTTP gateway, actor host, scheduler, agent
 * gRPC endpoint) running in the bench process on that Redis, an API key, a
 * project with pushed code, and a second store connection to observe the
 * controller's state without going through it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { actorKinds } from '../../src/actors/index.js';
import { ActorRouter, readViews } from '../../src/actors/runtime/index.js';
import { jobRef } from '../../src/actors/shared/ids.js';
import { CredentialService, storeActorMailbox } from '../../src/accounts/index.js';
import { serveController } from '../../src/cli/commands/serve-controller.js';
import { ReadyQueues } from '../../src/scheduler/ready-queue.js';
import { loadConfig } from '../../src/shared/config.js';
import type { JsonObject, JsonValue } from '../../src/shared/json.js';
import { createLogger, type LogLevel } from '../../src/shared/logger.js';
import { RedisStore, type EntityRef } from '../../src/store/index.js';
import { startRedisServerProcess, type RedisServerProcess } from '../../src/store/redis/redis-server-process.js';
import { gzipTar } from '../../test/helpers/tarballs.js';

/** The key prefix the controller uses (config default); the observer must use the same. */
const KEY_PREFIX = 'cl';

/** A redis-server in a temp dir, removed on stop. */
export interface BenchRedis {
  readonly path: string;
  readonly dir: string;
  /** The redis-server's pid, for its CPU time. */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export async function startBenchRedis(): Promise<BenchRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'computalot-bench-'));
  let redis: RedisServerProcess;
  try {
    redis = await startRedisServerProcess({ dir: join(dir, 'redis') });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    path: redis.path,
    dir,
    pid: redis.pid,
    stop: async () => {
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface ApiAnswer {
  readonly status: number;
  readonly body: JsonObject;
}

/** A controller running in this process, plus what a bench needs to drive and observe it. */
export interface BenchController {
  /** `http://127.0.0.1:<port>` of the REST gateway. */
  readonly url: string;
  /** `HOST:PORT` of the agent gRPC endpoint. */
  readonly grpcAddress: string;
  /** A separate connection to the same store, for observing (never for driving). */
  readonly observer: RedisStore;
  readonly router: ActorRouter;
  /** Bearer-authenticated call to the REST API; `raw` is sent as the body verbatim. */
  api(method: string, path: string, body?: unknown, raw?: Buffer): Promise<ApiAnswer>;
  /** Read model of a job, straight from the store (null until its submit is applied). */
  readJob(jobId: string): Promise<JsonObject | null>;
  /** Read models of `refs`, straight from the store. */
  readModels(refs: readonly EntityRef[]): Promise<(JsonValue | null)[]>;
  /** Size of the ready queue of CPU work. */
  readyCpu(): Promise<number>;
  /** Graceful stop (the SIGTERM path of `computalot controller`), then closes the observer. */
  stop(): Promise<void>;
}

export interface StartBenchControllerOptions {
  readonly redisPath: string;
  /** Temp dir for blobs (project tarballs). */
  readonly dataDir: string;
  readonly shards: number;
  readonly logLevel?: LogLevel;
  /** Project to create and push (so jobs can name it); default `bench`. */
  readonly project?: string;
}

/**
 * Creates an account and API key in the store, starts `serveController` on it
 * (HTTP and gRPC on free ports) and pushes a tiny project. Stop it with
 * `stop()`: the controller listens for SIGTERM, so this emits one in-process.
 */
export async function startBenchController(options: StartBenchControllerOptions): Promise<BenchController> {
  const observer = await RedisStore.connect({ path: options.redisPath, prefix: KEY_PREFIX, shardCount: options.shards });
  const router = new ActorRouter(actorKinds, options.shards);
  // What `computalot admin keys create` does; the controller applies account.open when it starts.
  const credentials = new CredentialService({ store: observer, mailbox: storeActorMailbox(observer), cacheTtlMs: 0 });
  const { account } = await credentials.createAccount('bench');
  const { token } = await credentials.issueApiKey(account.id, 'member', 'bench');

  const config = loadConfig({
    overrides: {
      store: { kind: 'redis', redis_path: options.redisPath, key_prefix: KEY_PREFIX, data_dir: options.dataDir },
      shards: options.shards,
      controller: { http: { host: '127.0.0.1', port: 0 }, grpc: { host: '127.0.0.1', port: 0 } },
      log_level: options.logLevel ?? 'warn',
    },
    overridesSource: 'bench',
  });
  const logger = createLogger({ level: config.log_level, name: 'bench-controller' });

  let printed = '';
  let onPrinted: () => void = () => undefined;
  const output = {
    stdout: (text: string) => {
      printed += text;
      onPrinted();
    },
    stderr: (text: string) => process.stderr.write(text),
  };
  const serving = serveController({ config, logger, output });
  const started = new Promise<{ url: string; grpcAddress: string }>((resolve) => {
    onPrinted = () => {
      const url = /Computalot listening on (\S+)/.exec(printed)?.[1];
      const grpcAddress = /Agent gateway listening on (\S+)/.exec(printed)?.[1];
      // The agent gateway line comes last: the actor host and scheduler are running by then.
      if (url !== undefined && grpcAddress !== undefined) resolve({ url, grpcAddress });
    };
  });
  const exitedEarly = serving.then((code) => {
    throw new Error(`controller exited during startup with code ${code}`);
  });
  const { url, grpcAddress } = await Promise.race([started, exitedEarly]);
  exitedEarly.catch(() => undefined);

  const api = async (method: string, path: string, body?: unknown, raw?: Buffer): Promise<ApiAnswer> => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(raw !== undefined || body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    return { status: response.status, body: (await response.json()) as JsonObject };
  };

  const stop = async (): Promise<void> => {
    process.emit('SIGTERM', 'SIGTERM');
    const code = await serving;
    await observer.close();
    if (code !== 0) throw new Error(`controller stopped with code ${code}`);
  };

  try {
    await pushBenchProject(api, options.project ?? 'bench');
  } catch (error) {
    await stop();
    throw error;
  }

  const readModels = (refs: readonly EntityRef[]) => readViews(observer, router, refs);
  return {
    url,
    grpcAddress,
    observer,
    router,
    api,
    readModels,
    readJob: async (jobId) => ((await readModels([jobRef(jobId)]))[0] ?? null) as JsonObject | null,
    readyCpu: () => observer.queueSize(ReadyQueues.queueName('cpu')),
    stop,
  };
}

/** The project the bench jobs run: a manifest and a runner nobody executes (no agent, or a no-op one). */
async function pushBenchProject(api: BenchController['api'], name: string): Promise<void> {
  const created = await api('POST', '/api/v1/projects', { name, remote_dir: `/root/${name}` });
  if (created.status !== 201) throw new Error(`creating project ${name}: ${created.status} ${JSON.stringify(created.body)}`);
  const manifest = JSON.stringify({ version: 1, runtime: { kind: 'oci', sandbox: 'gvisor', workdir: '/workspace' }, entrypoint: { command: ['python', 'run.py'] } });
  const tarball = gzipTar([
    { path: 'Dockerfile', body: 'FROM python:3.11-slim\nWORKDIR /workspace\nCOPY . .\n' },
    { path: 'computalot.project.json', body: manifest },
    { path: 'run.py', body: 'import json, os\njson.dump({}, open(os.environ["COMPUTALOT_TASK_RESULT"], "w"))\n' },
  ]);
  const pushed = await api('POST', `/api/v1/projects/${name}/push`, undefined, tarball);
  if (pushed.status !== 200) throw new Error(`pushing project ${name}: ${pushed.status} ${JSON.stringify(pushed.body)}`);
}

/** Polls `check` every `intervalMs` until it returns a value; throws after `timeoutMs`. */
export async function pollUntil<T>(what: string, check: () => Promise<T | undefined>, intervalMs: number, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** `summary.tasks` of a job read model. */
export function taskSummary(job: JsonObject | null): Record<string, number> {
  const summary = job?.summary as JsonObject | undefined;
  return (summary?.tasks ?? {}) as Record<string, number>;
}

/** One line of the machine's state, for the printed figures. */
export async function loadLine(): Promise<string> {
  const { loadavg, cpus } = await import('node:os');
  return `load average ${loadavg()
    .map((n) => n.toFixed(2))
    .join(', ')} on ${cpus().length} CPUs`;
}
