/**
 * Types shared by the gateway's builder and its route modules.
 */
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { ZodTypeProvider } from '@fastify/type-provider-zod';
import type { Logger } from '../shared/logger.js';
import type { JobRoutesOptions } from './routes/jobs.routes.js';
import type { TokenResolver } from './auth/authenticate.js';
import type { ProjectRegistry } from '../projects/index.js';
import type { BlobStore } from '../store/blobs/index.js';

/** The Fastify instance `buildGateway` returns: default HTTP server, zod-typed routes. */
export type GatewayInstance = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;

/** One readiness check, e.g. `store` or `shards`. */
export interface ReadinessCheck {
  readonly ok: boolean;
  /** Human-readable state, e.g. `12/64 shards leased`. */
  readonly detail?: string;
}

/** What the controller reports to `GET /ready`. */
export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, ReadinessCheck>>;
}

/**
 * Everything the gateway needs from the process that hosts it. Later issues add
 * the store, the actor runtime, auth and so on; routes receive only what they use.
 */
export interface GatewayDeps {
  readonly logger: Logger;
  /** Called on every `GET /ready`; must be cheap and must not throw (a throw counts as not ready). */
  readonly readiness: () => ReadinessReport;
  /** Software version reported by the liveness probes. */
  readonly version: string;
  /** Resolves bearer tokens for every non-public route (usually a `CredentialService`). */
  readonly credentials: TokenResolver;
  /** Project records; with `blobs`, enables `/api/v1/projects…` (both or neither). */
  readonly projects?: ProjectRegistry;
  /** Where pushed tarballs are stored. */
  readonly blobs?: BlobStore;
  /** Job routes: submit, status, tasks, output, events, results, cancel. */
  readonly jobs?: JobRoutesOptions;
  /** Token agents present to download project tarballs (`controller.agent_token`). */
  readonly agentToken?: string | undefined;
}
