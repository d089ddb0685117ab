/**
 * Runs one controller process until SIGINT/SIGTERM: store → HTTP gateway →
 * actor host. Shared by `computalot dev` and `computalot controller`; they
 * differ only in how they build the configuration.
 */
import type { AddressInfo } from 'node:net';
import { ControllerNode, type ActorKind } from '../../actors/runtime/index.js';
import { actorKinds } from '../../actors/index.js';
import { buildGateway, type ReadinessReport } from '../../gateway/index.js';
import type { ClusterConfig } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import { COMPUTALOT_VERSION } from '../../shared/version.js';
import type { CliOutput } from '../main.js';
import { describeStore, openStore } from './open-store.js';
import { waitForStopSignal } from './stop-signal.js';

/** A shutdown that takes longer than this is cut short (exit 1): a stuck close must not wedge a deploy. */
const SHUTDOWN_DEADLINE_MS = 15_000;

/** Options of {@link serveController}. */
export interface ServeControllerOptions {
  readonly config: ClusterConfig;
  readonly logger: Logger;
  readonly output: CliOutput;
  /** Entity kinds the actor host runs; default the product's four. Tests add their own. */
  readonly kinds?: readonly ActorKind[];
}

/**
 * Starts the controller and resolves with the exit code after a graceful stop.
 * The gateway listens before the actor host starts so `/live` answers at once and
 * `/ready` says 503 until the shards are leased — what load balancers expect.
 *
 * @throws when the store cannot be opened or the port cannot be bound.
 */
export async function serveController({ config, logger, output, kinds = actorKinds }: ServeControllerOptions): Promise<number> {
  const stopSignal = waitForStopSignal(logger);
  const store = await openStore(config).catch((error: unknown) => {
    stopSignal.dispose();
    throw error;
  });
  logger.info({ store: describeStore(config), shards: config.shards, controllerId: config.controller.id }, 'store opened');

  let node: ControllerNode | undefined;
  const app = buildGateway({
    logger,
    version: COMPUTALOT_VERSION,
    readiness: (): ReadinessReport =>
      node?.readiness() ?? { ready: false, checks: { store: { ok: true, detail: store.kind }, shards: { ok: false, detail: 'controller starting' } } },
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
    await node?.stop().catch((error: unknown) => logger.warn({ err: error }, 'stopping controller node failed'));
    await store.close().catch((error: unknown) => logger.warn({ err: error }, 'closing store failed'));
    clearTimeout(deadline);
    stopSignal.dispose();
  };

  try {
    await app.listen({ host: config.controller.http.host, port: config.controller.http.port });
    const url = publicUrl(config.controller.http.host, (app.server.address() as AddressInfo).port);
    output.stdout(`Computalot listening on ${url}\n`);

    node = new ControllerNode({
      store,
      controllerId: config.controller.id,
      leaseTtlMs: config.controller.lease_ttl_ms,
      heartbeatIntervalMs: config.controller.heartbeat_interval_ms,
      logger,
      kinds,
      info: { http: url, version: COMPUTALOT_VERSION },
    });
    await node.start();
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
