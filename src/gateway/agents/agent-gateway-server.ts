/**
 * The controller's gRPC endpoint for node agents: serves `AgentGateway.Connect`
 * and hands each registered stream to the {@link AgentSessionHandler} (the
 * scheduler). Keepalive and message limits come from shared/grpc-channel.ts so
 * both ends agree on them.
 */
import { Server, ServerCredentials, status as Status } from '@grpc/grpc-js';
import { AgentGatewayService, type AgentGatewayServer as AgentGatewayImplementation } from '../../gen/computalot/agent/v1/agent.js';
import { AGENT_SERVER_CHANNEL_OPTIONS, formatHostPort } from '../../shared/grpc-channel.js';
import type { Logger } from '../../shared/logger.js';
import type { AgentSessionHandler } from './agent-session.js';
import { assertAgentListenerIsProtected, hasValidAgentToken } from './agent-token.js';
import { serveAgentStream, type ServedAgentStream } from './agent-stream-protocol.js';
import type { AgentDuplexStream } from './agent-stream-session.js';

/** Options of {@link AgentGatewayGrpcServer}. */
export interface AgentGatewayGrpcServerOptions {
  /** The scheduler side: decides worker ids and what each stream carries. */
  readonly handler: AgentSessionHandler;
  /** Sent to agents in `Registered.controller_id`, for their logs. */
  readonly controllerId: string;
  readonly logger: Logger;
  /**
   * Shared secret agents must present as `authorization: Bearer <token>`.
   * Without one the server only binds loopback addresses.
   */
  readonly agentToken?: string | undefined;
  /** How long a new stream may take to send Register, in ms. Default 10 000. */
  readonly registerTimeoutMs?: number;
  /** Messages queued per stream while it applies backpressure before it is closed. Default 1024. */
  readonly maxQueuedMessages?: number;
}

/** Where to listen; port 0 picks a free port. */
export interface AgentGatewayListenOptions {
  readonly host: string;
  readonly port: number;
}

/** Options of {@link AgentGatewayGrpcServer.stop}. */
export interface AgentGatewayStopOptions {
  /** How long streams get to wind down before connections are cut, in ms. Default 5 000. */
  readonly graceMs?: number;
}

const DEFAULT_REGISTER_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_QUEUED_MESSAGES = 1024;
const DEFAULT_STOP_GRACE_MS = 5_000;

/** The agent gRPC endpoint of one controller. Can be started again after a stop. */
export class AgentGatewayGrpcServer {
  private readonly options: AgentGatewayGrpcServerOptions;
  private readonly logger: Logger;
  private server: Server | undefined;
  private readonly streams = new Set<ServedAgentStream>();
  private stopping = false;

  constructor(options: AgentGatewayGrpcServerOptions) {
    this.options = options;
    this.logger = options.logger.child({ component: 'agent-gateway' });
  }

  /** Streams currently served (registered or still registering). */
  get streamCount(): number {
    return this.streams.size;
  }

  /**
   * Binds and starts serving; resolves with the bound port (the real one for port 0).
   *
   * @throws ConfigError when `host` is not loopback and no agent token is set.
   * @throws when the address cannot be bound.
   */
  async start({ host, port }: AgentGatewayListenOptions): Promise<number> {
    if (this.server !== undefined) throw new Error('agent gateway already started');
    assertAgentListenerIsProtected(host, this.options.agentToken);
    const server = new Server(AGENT_SERVER_CHANNEL_OPTIONS);
    const implementation: AgentGatewayImplementation = { connect: (call) => this.acceptStream(call) };
    server.addService(AgentGatewayService, implementation);
    const boundPort = await new Promise<number>((resolve, reject) =>
      server.bindAsync(formatHostPort(host, port), ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    ).catch((error: unknown) => {
      server.forceShutdown();
      throw error;
    });
    this.server = server;
    this.stopping = false;
    this.logger.info({ host, port: boundPort, tokenRequired: this.options.agentToken !== undefined }, 'agent gateway listening');
    return boundPort;
  }

  /**
   * Ends every stream with UNAVAILABLE (agents reconnect, to another controller
   * when they know one), refuses new ones, and waits up to `graceMs` for the
   * connections to wind down before cutting them.
   */
  async stop({ graceMs = DEFAULT_STOP_GRACE_MS }: AgentGatewayStopOptions = {}): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.stopping = true;
    for (const stream of [...this.streams]) stream.shutdown('controller shutting down');
    await new Promise<void>((resolve) => {
      const deadline = setTimeout(() => {
        this.logger.warn({ graceMs }, 'agent gateway did not stop in time; cutting connections');
        server.forceShutdown();
        resolve();
      }, graceMs);
      server.tryShutdown(() => {
        clearTimeout(deadline);
        resolve();
      });
    });
    this.server = undefined;
    this.logger.info('agent gateway stopped');
  }

  private acceptStream(call: AgentDuplexStream): void {
    if (this.stopping) {
      call.emit('error', { code: Status.UNAVAILABLE, details: 'controller shutting down' });
      return;
    }
    const token = this.options.agentToken;
    if (token !== undefined && !hasValidAgentToken(call.metadata, token)) {
      this.logger.warn({ peer: call.getPeer() }, 'agent stream refused: missing or invalid agent token');
      call.emit('error', { code: Status.UNAUTHENTICATED, details: 'missing or invalid agent token' });
      return;
    }
    const served: ServedAgentStream = serveAgentStream(call, {
      handler: this.options.handler,
      controllerId: this.options.controllerId,
      logger: this.logger,
      registerTimeoutMs: this.options.registerTimeoutMs ?? DEFAULT_REGISTER_TIMEOUT_MS,
      maxQueuedMessages: this.options.maxQueuedMessages ?? DEFAULT_MAX_QUEUED_MESSAGES,
      onStreamDone: () => this.streams.delete(served),
    });
    this.streams.add(served);
  }
}
