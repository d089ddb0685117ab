/**
 * One stream from the agent to one controller: opens `AgentGateway.Connect`
 * with a fresh channel, sends Register, waits for Registered, then carries
 * messages both ways until either side ends it. Reconnecting is the agent's
 * job (agent.ts); a connection is used once.
 */
import { Metadata, credentials, status as Status, type ServiceError } from '@grpc/grpc-js';
import { AgentGatewayClient, type AgentMessage, type ControllerMessage, type Register, type Registered } from '../gen/computalot/agent/v1/agent.js';
import { AGENT_AUTHORIZATION_METADATA_KEY, AGENT_CLIENT_CHANNEL_OPTIONS } from '../shared/grpc-channel.js';
import { TurnBatcher, packBatch } from '../shared/turn-batcher.js';

/** Options of {@link openAgentConnection}. */
export interface OpenAgentConnectionOptions {
  /** `HOST:PORT` of the controller's agent endpoint. */
  readonly target: string;
  readonly register: Register;
  /** Sent as `authorization: Bearer <token>` when set. */
  readonly agentToken?: string | undefined;
  /** How long to wait for Registered, in ms. */
  readonly registerTimeoutMs: number;
  /** Messages after Registered, in order. */
  readonly onMessage: (message: ControllerMessage) => void;
  /** Called once when the stream is over after it registered. */
  readonly onClosed: (reason: string) => void;
  /** Messages that may wait for the stream's 'drain' before the connection is dropped. Default 1024. */
  readonly maxQueuedMessages?: number;
}

/** An open, registered stream. */
export interface AgentConnection {
  readonly target: string;
  readonly registered: Registered;
  /** Queues a message; false when the stream is already over. */
  send(message: AgentMessage): boolean;
  /** Half-closes the stream and releases the channel. */
  close(reason: string): void;
  readonly isClosed: boolean;
}

/**
 * Connects and registers.
 *
 * @throws when the controller is unreachable, refuses the stream (bad token,
 *   shutting down) or does not answer Register with Registered in time.
 */
export async function openAgentConnection(options: OpenAgentConnectionOptions): Promise<AgentConnection> {
  const client = new AgentGatewayClient(options.target, credentials.createInsecure(), AGENT_CLIENT_CHANNEL_OPTIONS);
  const metadata = new Metadata();
  if (options.agentToken !== undefined) metadata.set(AGENT_AUTHORIZATION_METADATA_KEY, `Bearer ${options.agentToken}`);
  const stream = client.connect(metadata);
  const maxQueued = options.maxQueuedMessages ?? 1024;

  let phase: 'registering' | 'open' | 'closed' = 'registering';
  const waiting: AgentMessage[] = [];
  let blocked = false;
  let batcher: TurnBatcher<AgentMessage> | undefined;

  const release = (): void => {
    waiting.length = 0;
    if (!stream.writableEnded) stream.end();
    stream.cancel();
    client.close();
  };

  const registered = await new Promise<Registered>((resolve, reject) => {
    const fail = (reason: string): void => {
      if (phase !== 'registering') return;
      phase = 'closed';
      clearTimeout(timer);
      release();
      reject(new Error(`${options.target}: ${reason}`));
    };
    const timer = setTimeout(() => fail(`no Registered within ${options.registerTimeoutMs} ms`), options.registerTimeoutMs);
    stream.on('data', (message: ControllerMessage) => {
      if (phase === 'registering') {
        clearTimeout(timer);
        if (message.kind?.$case !== 'registered') return fail(`expected Registered, got ${message.kind?.$case ?? 'an unknown message'}`);
        phase = 'open';
        resolve(message.kind.value);
        return;
      }
      if (phase !== 'open') return;
      if (message.kind?.$case !== 'batch') return options.onMessage(message);
      // A batch is its messages in order; never nested (agent.proto).
      for (const inner of message.kind.value.messages) {
        if (phase !== 'open') return;
        if (inner.kind?.$case !== 'batch') options.onMessage(inner);
      }
    });
    stream.on('error', (error: ServiceError) => {
      if (phase === 'registering') fail(describeStreamError(error));
      else closeStream(`stream error: ${describeStreamError(error)}`);
    });
    stream.on('end', () => {
      if (phase === 'registering') fail('stream ended before Registered');
      else closeStream('controller ended the stream');
    });
    stream.write({ kind: { $case: 'register', value: options.register } });
  });

  function closeStream(reason: string): void {
    if (phase !== 'open') return;
    phase = 'closed';
    batcher?.drop();
    release();
    options.onClosed(reason);
  }

  const writeNow = (message: AgentMessage): void => {
    if (stream.write(message)) return;
    blocked = true;
    stream.once('drain', flushWaiting);
  };
  function flushWaiting(): void {
    blocked = false;
    while (phase === 'open' && !blocked) {
      const next = waiting.shift();
      if (next === undefined) return;
      writeNow(next);
    }
  }

  const sendNow = (message: AgentMessage): boolean => {
    if (phase !== 'open') return false;
    if (!blocked) {
      writeNow(message);
      return true;
    }
    if (waiting.length >= maxQueued) {
      // The controller stopped reading: drop this stream; a fresh one resends what matters.
      closeStream('send queue overflowed');
      return false;
    }
    waiting.push(message);
    return true;
  };
  // Messages of one event-loop turn go out as one batch when the controller reads batches.
  if (registered.acceptsBatches) {
    batcher = new TurnBatcher<AgentMessage>((messages) => sendNow(packBatch(messages, (batch) => ({ kind: { $case: 'batch', value: { messages: batch } } }))));
  }

  return {
    target: options.target,
    registered,
    get isClosed() {
      return phase !== 'open';
    },
    send: (message) => {
      if (phase !== 'open') return false;
      if (batcher === undefined) return sendNow(message);
      batcher.add(message);
      return true;
    },
    close: (reason) => closeStream(reason),
  };
}

/** `UNAUTHENTICATED: missing or invalid agent token` rather than grpc-js's long text. */
function describeStreamError(error: ServiceError): string {
  return typeof error.code === 'number' ? `${Status[error.code] ?? `status ${error.code}`}: ${error.details || error.message}` : error.message;
}
