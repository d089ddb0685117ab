/**
 * The controller's half of one `AgentGateway.Connect` stream, from the first
 * message to the last: Register (within a deadline) → `handler.onRegister` →
 * `Registered` → `onSessionOpen`, then every report goes to the handler until
 * the stream ends, when `onSessionClosed` runs exactly once.
 */
import { status as Status } from '@grpc/grpc-js';
import type { AgentMessage, Register } from '../../gen/computalot/agent/v1/agent.js';
import type { Logger } from '../../shared/logger.js';
import type { AgentSessionHandler, AgentTaskEvent } from './agent-session.js';
import { AgentStreamSession, type AgentDuplexStream } from './agent-stream-session.js';

/** What {@link serveAgentStream} needs from the server. */
export interface AgentStreamDeps {
  readonly handler: AgentSessionHandler;
  readonly controllerId: string;
  readonly logger: Logger;
  readonly registerTimeoutMs: number;
  readonly maxQueuedMessages: number;
  /** Called once when the stream is over, registered or not. */
  readonly onStreamDone: () => void;
}

/** The server's grip on a stream it serves. */
export interface ServedAgentStream {
  /** Ends the stream with UNAVAILABLE (server stopping); the agent reconnects elsewhere. */
  shutdown(reason: string): void;
}

type Phase = 'awaiting-register' | 'registering' | 'open' | 'over';

/** Serves one accepted (already authenticated) stream. */
export function serveAgentStream(call: AgentDuplexStream, deps: AgentStreamDeps): ServedAgentStream {
  const { handler, logger } = deps;
  let phase: Phase = 'awaiting-register';
  let session: AgentStreamSession | undefined;

  const finish = (): void => {
    if (phase === 'over') return;
    phase = 'over';
    clearTimeout(registerDeadline);
    deps.onStreamDone();
  };
  /** Ends a stream that never got a session, with a status the agent can log. */
  const reject = (code: Status, reason: string): void => {
    if (phase === 'over') return;
    logger.warn({ peer: call.getPeer(), reason }, 'agent stream rejected');
    finish();
    if (!call.writableEnded && !call.destroyed) call.emit('error', { code, details: reason });
  };
  const peerGone = (reason: string): void => {
    if (session !== undefined) session.markPeerGone(reason);
    finish();
  };

  const registerDeadline = setTimeout(
    () => reject(Status.DEADLINE_EXCEEDED, `no Register within ${deps.registerTimeoutMs} ms`),
    deps.registerTimeoutMs,
  );

  const registerAndOpen = async (register: Register): Promise<void> => {
    // Reports sent right behind Register wait until the session exists.
    call.pause();
    let assigned: { workerId: string; heartbeatIntervalMs: number };
    try {
      assigned = await handler.onRegister(register);
    } catch (error) {
      logger.error({ err: error, agentId: register.agentId }, 'agent registration failed');
      reject(Status.UNAVAILABLE, `registration failed: ${(error as Error).message}`);
      return;
    }
    // The stream ended while the handler worked: nothing to open or close.
    if (phase !== 'registering') return;
    session = new AgentStreamSession({
      call,
      workerId: assigned.workerId,
      register,
      maxQueuedMessages: deps.maxQueuedMessages,
      logger,
      onClosed: (reason) => {
        finish();
        logger.info({ workerId: assigned.workerId, agentId: register.agentId, reason }, 'agent session closed');
        guard(() => handler.onSessionClosed(opened, reason), 'onSessionClosed');
      },
    });
    const opened = session;
    phase = 'open';
    opened.send({
      kind: {
        $case: 'registered',
        value: { workerId: assigned.workerId, heartbeatIntervalMs: assigned.heartbeatIntervalMs, controllerId: deps.controllerId, acceptsBatches: true },
      },
    });
    if (register.acceptsBatches) opened.batchWrites();
    logger.info({ workerId: assigned.workerId, agentId: register.agentId, hostname: register.hostname, peer: call.getPeer() }, 'agent registered');
    guard(() => handler.onSessionOpen(opened), 'onSessionOpen');
    call.resume();
  };

  /** Runs a handler callback; one that throws breaks the contract, so the stream is reset and the agent registers afresh. */
  const guard = (callback: () => void, name: string): void => {
    try {
      callback();
    } catch (error) {
      logger.error({ err: error, callback: name, workerId: session?.workerId }, 'agent session handler threw; closing the stream');
      session?.closeWithStatus(Status.INTERNAL, `controller error in ${name}`, { flush: false });
    }
  };

  const reportTaskEvent = (open: AgentStreamSession, event: AgentTaskEvent): void => {
    let outcome: void | Promise<void>;
    try {
      outcome = handler.onTaskEvent(open, event);
    } catch (error) {
      logger.error({ err: error, workerId: open.workerId, kind: event.kind }, 'agent session handler threw; closing the stream');
      open.closeWithStatus(Status.INTERNAL, 'controller error in onTaskEvent', { flush: false });
      return;
    }
    if (event.kind !== 'finished') {
      if (outcome instanceof Promise) outcome.catch((error: unknown) => logger.error({ err: error, workerId: open.workerId, kind: event.kind }, 'task event handling failed'));
      return;
    }
    const attemptId = event.message.attemptId;
    Promise.resolve(outcome).then(
      () => open.send({ kind: { $case: 'taskFinishedAck', value: { attemptId } } }),
      (error: unknown) => {
        // Without an ack the agent keeps the result and resends it on its next stream.
        logger.error({ err: error, workerId: open.workerId, attemptId }, 'recording a finished attempt failed; closing the stream so the agent resends it');
        open.closeWithStatus(Status.UNAVAILABLE, 'controller could not record the result', { flush: false });
      },
    );
  };

  const dispatch = (open: AgentStreamSession, message: AgentMessage, inBatch = false): void => {
    const kind = message.kind;
    switch (kind?.$case) {
      case 'batch':
        if (inBatch) return; // never nested (agent.proto)
        for (const inner of kind.value.messages) {
          if (open.isClosed) return;
          dispatch(open, inner, true);
        }
        return;
      case 'heartbeat':
        return guard(() => handler.onHeartbeat(open, kind.value), 'onHeartbeat');
      case 'taskAccepted':
        return reportTaskEvent(open, { kind: 'accepted', message: kind.value });
      case 'taskStarted':
        return reportTaskEvent(open, { kind: 'started', message: kind.value });
      case 'taskProgress':
        return reportTaskEvent(open, { kind: 'progress', message: kind.value });
      case 'taskFinished':
        return reportTaskEvent(open, { kind: 'finished', message: kind.value });
      case 'projectPrepared':
        return guard(() => handler.onProjectPrepared(open, kind.value), 'onProjectPrepared');
      case 'register':
        open.closeWithStatus(Status.FAILED_PRECONDITION, 'Register may only be the first message of a stream', { flush: false });
        return;
      case undefined:
        // A newer agent's message kind this controller does not know: skip it, as proto3 intends.
        logger.debug({ workerId: open.workerId }, 'ignoring an agent message of unknown kind');
        return;
    }
  };

  call.on('data', (message: AgentMessage) => {
    if (phase === 'awaiting-register') {
      if (message.kind?.$case !== 'register') {
        reject(Status.INVALID_ARGUMENT, `the first message must be Register, got ${message.kind?.$case ?? 'an unknown kind'}`);
        return;
      }
      phase = 'registering';
      clearTimeout(registerDeadline);
      void registerAndOpen(message.kind.value);
      return;
    }
    if (phase === 'open' && session !== undefined) dispatch(session, message);
  });
  call.on('end', () => peerGone('agent ended the stream'));
  call.on('cancelled', () => peerGone('stream cancelled (agent gone or connection lost)'));
  call.on('error', (error: Error) => peerGone(`stream error: ${error.message}`));
  call.on('close', () => peerGone('stream closed'));

  return {
    shutdown: (reason) => {
      if (session !== undefined) session.close(reason);
      else reject(Status.UNAVAILABLE, reason);
    },
  };
}
