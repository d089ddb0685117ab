/**
 * A small REST client for end-to-end job tests: bearer-token calls against a
 * running controller, project registration + push, and polling a job until it
 * is terminal. Setup helpers throw on an unexpected status: nothing after a
 * failed setup step means anything.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { startComputalotProcess, type ControllerProcess } from '../fixtures/controller-process.js';
import { startRedisServer } from '../fixtures/redis-server.js';
import { createApiKey, startTestController, writeTestCluster } from '../fixtures/test-cluster.js';
import { gzipTar } from './tarballs.js';
import { waitFor } from './wait.js';

export type Json = Record<string, unknown>;

export interface Answer {
  readonly status: number;
  readonly body: Json;
}

/** One authenticated call; `raw` is sent as the body as is (tarballs). */
export type Api = (method: string, path: string, body?: unknown, raw?: Buffer) => Promise<Answer>;

export const TERMINAL_JOB_STATUSES: readonly string[] = ['completed', 'partial', 'failed', 'cancelled'];
export const TERMINAL_TASK_STATUSES: readonly string[] = ['succeeded', 'failed', 'cancelled', 'timed_out'];

export function apiClient(baseUrl: string, token: string): Api {
  return async (method, path, body, raw) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined && raw === undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${baseUrl}${path}`, { method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
    return { status: response.status, body: (await response.json()) as Json };
  };
}

/** The answer's body when its status is `status`; throws naming `what` otherwise. */
export async function expectStatus(status: number, call: Promise<Answer>, what: string): Promise<Json> {
  const answer = await call;
  if (answer.status !== status) throw new Error(`${what}: expected ${status}, got ${answer.status} ${JSON.stringify(answer.body).slice(0, 2000)}`);
  return answer.body;
}

/** The usual project around a Python runner: Dockerfile, manifest, and `files`. */
export function pythonProjectFiles(entrypoint: string, files: Readonly<Record<string, string>>): Record<string, string> {
  return {
    Dockerfile: 'FROM python:3.11-slim\nWORKDIR /workspace\nCOPY . .\n',
    'computalot.project.json': JSON.stringify({ version: 1, runtime: { kind: 'oci', sandbox: 'gvisor', workdir: '/workspace' }, entrypoint: { command: ['python', entrypoint] } }),
    ...files,
  };
}

/** Registers project `name` and pushes `files` as its first revision. */
export async function createProject(api: Api, name: string, files: Readonly<Record<string, string>>): Promise<void> {
  await expectStatus(201, api('POST', '/api/v1/projects', { name, remote_dir: `/root/${name}` }), `register project ${name}`);
  const tarball = gzipTar(Object.entries(files).map(([path, body]) => ({ path, body })));
  await expectStatus(200, api('POST', '/api/v1/projects/' + name + '/push', undefined, tarball), `push project ${name}`);
}

/** Submits a job (201 expected) and returns its id. */
export async function submitJob(api: Api, body: unknown): Promise<string> {
  const answer = await expectStatus(201, api('POST', '/api/v1/jobs', body), `submit ${JSON.stringify(body).slice(0, 200)}`);
  return String(answer.id);
}

/** Polls `GET /api/v1/jobs/:id` until the job is terminal; its view then. */
export function waitForJob(api: Api, jobId: string, timeoutMs = 120_000, intervalMs = 200): Promise<Json> {
  return waitFor(
    `job ${jobId} terminal`,
    async () => {
      const job = await expectStatus(200, api('GET', `/api/v1/jobs/${jobId}`), `get job ${jobId}`);
      return TERMINAL_JOB_STATUSES.includes(String(job.status)) ? job : undefined;
    },
    timeoutMs,
    intervalMs,
  );
}

/** Every task view of a job (`GET /api/v1/jobs/:id/tasks`, paged by 1,000). */
export async function listTasks(api: Api, jobId: string): Promise<Json[]> {
  const tasks: Json[] = [];
  for (let offset = 0; ; offset += 1000) {
    const page = await expectStatus(200, api('GET', `/api/v1/jobs/${jobId}/tasks?limit=1000&offset=${offset}`), `list tasks of ${jobId}`);
    const got = (page.tasks ?? []) as Json[];
    tasks.push(...got);
    if (got.length < 1000) return tasks;
  }
}

function hasBubblewrap(): boolean {
  try {
    execFileSync('bwrap', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * `computalot dev` (embedded store, its own local agent) in a fresh data
 * directory, with a client holding the dev API key it printed.
 */
export async function startDevPlatform(t: Test, name: string): Promise<{ dev: ControllerProcess; api: Api; dataDir: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), `computalot-${name}-`));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const dev = await startComputalotProcess(t, ['dev', '--port', '0', '--data-dir', dataDir, '--shards', '4'], { COMPUTALOT_LOG_LEVEL: 'warn' });
  await waitFor('dev ready', () => dev.ready(), 20_000);
  const token = (await readFile(join(dataDir, 'dev-api-key'), 'utf8')).trim();
  return { dev, api: apiClient(dev.url, token), dataDir };
}

/**
 * A Redis-backed controller and one real `computalot agent` offering `cpu`
 * CPU slots, in bubblewrap where the machine has it (a few ms per launch,
 * where gVisor costs most of a second: it keeps tests of many tasks
 * affordable), with a client holding a fresh account's API key.
 */
export async function startClusterPlatform(
  t: Test,
  options: { readonly cpu: number; readonly account?: string },
): Promise<{ controller: ControllerProcess; agent: ControllerProcess; api: Api; sandbox: 'bwrap' | 'auto' }> {
  const redis = await startRedisServer(t);
  const cluster = await writeTestCluster(t, redis.path);
  const token = await createApiKey(cluster.config, '--account', options.account ?? 'e2e');
  const { controller, grpc } = await startTestController(t, cluster);
  const sandbox = hasBubblewrap() ? 'bwrap' : 'auto';
  const agent = await startComputalotProcess(
    t,
    ['agent', '--controller', grpc, '--config', cluster.config, '--work-dir', join(cluster.dir, 'agent'), '--cpu', String(options.cpu), '--sandbox', sandbox],
    {},
    /registered with \S+ as (wrk_\w+)/,
  );
  await waitFor('controller ready', () => controller.ready(), 20_000);
  return { controller, agent, api: apiClient(controller.url, token), sandbox };
}
