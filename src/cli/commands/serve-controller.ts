/**
 * Runs one controller process until SIGINT/SIGTERM: store → HTTP gateway →
 * actor host. Shared by `computalot dev` and `computalot controller`; they
 * differ only in how they build the configuration.
 */
import type { AddressInfo } from 'node:net';
import { ControllerNode, type ActorKind, type EffectHandler } from '../../actors/runtime/index.js';
import { actorKinds } from '../../actors/index.js';
import { CredentialService, storeActorMailbox } from '../../accounts/index.js';
import { buildGateway, type AgentGatewayGrpcServer, type ReadinessReport } from '../../gateway/index.js';
import { Scheduler, jobEffectHandlers } from '../../scheduler/index.js';
import { ProjectRegistry } from '../../projects/index.js';
import { JobIndex } from '../../jobs/job-index.js';
import { RetentionSweeper, retentionListener } from '../../jobs/retention.js';
import { WebhookDispatcher, callbackUrlRefusal } from '../../jobs/webhooks/index.js';
import { FsBlobStore, resolveBlobDir } from '../../store/blobs/index.js';
import type { ClusterConfig } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import { COMPUTALOT_VERSION } from '../../shared/version.js';
import type { CliOutput } from '../main.js';
import { ensureDevApiKey } from './dev-api-key.js';
import { recordPreparation, resolveProjectForJob, runnerCommandRefusal, startLocalAgent, type LocalAgentOptions } from './controller-wiring.js';
import type { NodeAgent } from '../../node-agent/index.js';
import { startAgentGateway } from './agent-gateway-lifecycle.js';
import { describeStore, openStore } from './open-store.js';
import { waitForStopSignal } from './stop-signal.js';

/** A shutdown that takes longer than this is cut short (exit 1): a stuck close must not wedge a deploy. */
const SHUTDOWN_DEADLINE_MS = 15_000;
const DAY_MS = 24 * 3600_000;
/** How often a controller looks for jobs past retention. */
const RETENTION_SWEEP_INTERVAL_MS = 3600_000;

/** Options of {@link serveController}. */
export interface ServeControllerOptions {
  readonly config: ClusterConfig;
  readonly logger: Logger;
  readonly output: CliOutput;
  /** Entity kinds the actor host runs; default the product's four. Tests add their own. */
  readonly kinds?: readonly ActorKind[];
  /** `computalot dev`: make sure the local account and its API key exist and print the key (see dev-api-key.ts). */
  readonly bootstrapDevApiKey?: boolean;
  /** `computalot dev`: run a node agent in this process, connected to this controller. */
  readonly localAgent?: LocalAgentOptions;
}

/**
 * Starts the controller and resolves with the exit code after a graceful stop.
 * The gateway listens before the actor host starts so `/live` answers at once and
 * `/ready` says 503 until the shards are leased — what load balancers expect.
 *
 * @throws when the store cannot be opened or the port cannot be bound.
 */
export async function serveController({ config, logger, output, kinds = actorKinds, bootstrapDevApiKey = false, localAgent: localAgentOptions }: ServeControllerOptions): Promise<number> {
  const stopSignal = waitForStopSignal(logger);
  const store = await openStore(config).catch((error: unknown) => {
    stopSignal.dispose();
    throw error;
  });
  logger.info({ store: describeStore(config), shards: config.shards, controllerId: config.controller.id }, 'store opened');

  // The node does not exist yet (it needs the listening URL); appending to the
  // mailbox directly is what `node.send` does anyway.
  const credentials = new CredentialService({ store, mailbox: storeActorMailbox(store) });
  if (bootstrapDevApiKey) {
    await ensureDevApiKey(credentials, config.store.data_dir, output, logger).catch(async (error: unknown) => {
      await store.close().catch(() => undefined);
      stopSignal.dispose();
      throw error;
    });
  }

  // Blobs: one directory every controller shares (same host or a shared mount).
  const blobs = new FsBlobStore(resolveBlobDir(config.store));
  const projects = new ProjectRegistry({ store, logger });

  // The listening URL is known only after listen; the node reads it at each heartbeat.
  let url = '';
  // Filled once the scheduler exists: it needs the node, the node needs its handlers (looked up per effect).
  const effectHandlers = new Map<string, EffectHandler>();
  const node = new ControllerNode({
    effectHandlers,
    store,
    controllerId: config.controller.id,
    leaseTtlMs: config.controller.lease_ttl_ms,
    heartbeatIntervalMs: config.controller.heartbeat_interval_ms,
    logger,
    kinds,
    info: () => ({ http: url, version: COMPUTALOT_VERSION }),
  });
  // callback_url delivery: the terminal listener enqueues, the dispatcher loop (started with the node) sends.
  const webhooks = new WebhookDispatcher({ config: config.jobs.webhooks, store, readModels: (refs) => node.readModels(refs), logger, controllerId: config.controller.id });
  const jobIndex = new JobIndex(store);
  // Terminal jobs are deleted `retention_days` after they end; one controller sweeps at a time (lease).
  const retention = new RetentionSweeper({
    store,
    index: jobIndex,
    shardOf: (ref) => node.router.shardOf(ref),
    retentionMs: config.jobs.retention_days * DAY_MS,
    intervalMs: RETENTION_SWEEP_INTERVAL_MS,
    owner: config.controller.id,
    logger,
  });
  const tarballRef = (sha256: string) => `${url}/internal/v1/blobs/${sha256}`;
  const scheduler = new Scheduler({
    node,
    store,
    logger,
    resolveRevision: async (accountId, project) => {
      const revision = await projects.revisionForDispatch(accountId, project);
      return revision && { contentHash: revision.content_hash, tarballRef: tarballRef(revision.tarball_sha256), env: revision.env };
    },
    onPreparationRequested: (accountId, name, contentHash) => preparing.set(contentHash, { accountId, name }),
    onProjectPrepared: (workerId, message) => void recordPreparation(projects, preparing, workerId, message, logger),
  });
  for (const [kind, handler] of [...jobEffectHandlers(node, store, [webhooks.listener, retentionListener(store)], scheduler.queues), ...scheduler.effectHandlers()]) effectHandlers.set(kind, handler);
  // Which account a revision being prepared belongs to: agents report only project name + hash.
  const preparing = new Map<string, { accountId: string; name: string }>();
  projects.events.onInitRequested((request) => {
    void projects.revisionForDispatch(request.accountId, request.name).then((revision) => {
      if (!revision || revision.content_hash !== request.contentHash) return;
      preparing.set(revision.content_hash, { accountId: request.accountId, name: request.name });
      scheduler.requestPreparation(request.name, revision.content_hash, tarballRef(revision.tarball_sha256), request.workerIds);
    });
  });

  let started = false;
  let agentGateway: AgentGatewayGrpcServer | undefined;
  let localAgent: NodeAgent | undefined;
  const app = buildGateway({
    logger,
    version: COMPUTALOT_VERSION,
    credentials,
    projects,
    blobs,
    agentToken: config.controller.agent_token,
    jobs: { node, store, index: jobIndex, resolveProject: (accountId, name) => resolveProjectForJob(projects, accountId, name), checkRunnerCommand: runnerCommandRefusal, checkCallbackUrl: (url) => callbackUrlRefusal(url, config.jobs.webhooks) },
    readiness: (): ReadinessReport =>
      started ? node.readiness() : { ready: false, checks: { store: { ok: true, detail: store.kind }, shards: { ok: false, detail: 'controller starting' } } },
  });

  const shutdown = async (): Promise<void> => {
    const deadline = setTimeout(() => {
      logger.error({ deadlineMs: SHUTDOWN_DEADLINE_MS }, 'shutdown timed out; exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    // HTTP first (no new work arrives), then the actor host (releases leases so
    // survivors take the shards at once), then the store it was using.
    await app.close().catch((error: unknown) => logger.warn({ err: error }, 'closing HTTP failed'));
    await localAgent?.stop({ drainDeadlineMs: 5_000 }).catch((error: unknown) => logger.warn({ err: error }, 'stopping the local agent failed'));
    // Agents next: their streams end with UNAVAILABLE and they reconnect to another controller.
    await agentGateway?.stop().catch((error: unknown) => logger.warn({ err: error }, 'stopping the agent gateway failed'));
    scheduler.stop();
    await retention.stop().catch((error: unknown) => logger.warn({ err: error }, 'stopping the retention sweeper failed'));
    await webhooks.stop().catch((error: unknown) => logger.warn({ err: error }, 'stopping webhook delivery failed'));
    await node.stop().catch((error: unknown) => logger.warn({ err: error }, 'stopping controller node failed'));
    await store.close().catch((error: unknown) => logger.warn({ err: error }, 'closing store failed'));
    clearTimeout(deadline);
    stopSignal.dispose();
  };

  try {
    await app.listen({ host: config.controller.http.host, port: config.controller.http.port });
    url = publicUrl(config.controller.http.host, (app.server.address() as AddressInfo).port);
    output.stdout(`Computalot listening on ${url}\n`);
    await node.start();
    webhooks.start();
    retention.start();
    started = true;
    scheduler.start();
    const gateway = await startAgentGateway(config, scheduler, logger, output);
    agentGateway = gateway.server;
    if (localAgentOptions) localAgent = await startLocalAgent(config, localAgentOptions, gateway.address, logger);
    logger.info({ url }, 'controller ready');
  } catch (error) {
    await shutdown();
    throw error;
  }

  const signal = await stopSignal.received;
  logger.info({ signal }, 'shutting down');
  await shutdown();
  logger.info('stopped');
  return 0;
}

/** The URL to print: wildcard binds are reachable on loopback; IPv6 needs brackets. */
function publicUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}
