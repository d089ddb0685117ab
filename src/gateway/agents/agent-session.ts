import type { ControllerMessage, Heartbeat, ProjectPrepared, Register, TaskAccepted, TaskFinished, TaskProgress, TaskStarted } from '../../gen/computalot/agent/v1/agent.js';

/**
 * The controller's side of one node agent's gRPC stream, as the scheduler
 * sees it. The transport (`agent-gateway-server.ts`) owns the stream; the
 * scheduler owns what to do with it.
 */
export interface AgentSession {
  /** Assigned by the controller at registration; the worker actor's id. */
  readonly workerId: string;
  readonly register: Register;
  /** Queues a message on the stream; false when the stream is already closed. */
  send(message: ControllerMessage): boolean;
  /** Ends the stream (the agent reconnects and registers again). */
  close(reason: string): void;
}

/** Task-level messages an agent reports, tagged by kind. */
export type AgentTaskEvent =
  | { readonly kind: 'accepted'; readonly message: TaskAccepted }
  | { readonly kind: 'started'; readonly message: TaskStarted }
  | { readonly kind: 'progress'; readonly message: TaskProgress }
  | { readonly kind: 'finished'; readonly message: TaskFinished };

/**
 * Implemented by the controller (scheduler + worker/task actors) and handed to
 * the gRPC server. Every callback must be quick and must not throw: slow work
 * goes through the actor mailboxes.
 */
export interface AgentSessionHandler {
  /** A new stream registered; answer with the worker id and heartbeat interval to send back in `Registered`. */
  onRegister(register: Register): Promise<{ workerId: string; heartbeatIntervalMs: number }>;
  /** The stream for `workerId` is open and `Registered` was sent: it may receive work now. */
  onSessionOpen(session: AgentSession): void;
  onHeartbeat(session: AgentSession, heartbeat: Heartbeat): void;
  /**
   * A task report arrived. For `finished`, the transport answers `TaskFinishedAck`
   * (the agent then forgets the result) once this returns — or, when it returns a
   * promise, once that resolves; a rejection closes the stream instead, so the
   * agent resends the result on its next stream. The same `finished` may arrive
   * twice (an ack lost with a dropped stream): handle it idempotently by attempt id.
   */
  onTaskEvent(session: AgentSession, event: AgentTaskEvent): void | Promise<void>;
  onProjectPrepared(session: AgentSession, message: ProjectPrepared): void;
  /** The stream ended (agent gone, network cut, server stopping). */
  onSessionClosed(session: AgentSession, reason: string): void;
}
