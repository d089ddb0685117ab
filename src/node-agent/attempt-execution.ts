/**
 * One accepted attempt on the agent: runs it through the {@link TaskExecutor},
 * turns its hooks into TaskStarted / TaskProgress reports (coalesced) and its
 * outcome into TaskFinished. Whatever happens — executor failure, cancel — the
 * attempt ends with exactly one TaskFinished.
 */
import type { AgentMessage, DispatchTask, TaskFinished } from '../gen/computalot/agent/v1/agent.js';
import type { Logger } from '../shared/logger.js';
import { ProgressCoalescer } from './progress-coalescer.js';
import type { TaskExecutor, TaskOutcome, TaskPlacement } from './task-executor.js';

/** Output carried per TaskProgress at most, in characters; the rest of a burst is in the output tail. */
const MAX_OUTPUT_CHARS_PER_REPORT = 64 * 1024;

/** Options of {@link startAttempt}. */
export interface StartAttemptOptions {
  readonly dispatch: DispatchTask;
  readonly executor: TaskExecutor;
  readonly placement: TaskPlacement;
  /** Minimum time between two TaskProgress reports, in ms. */
  readonly progressIntervalMs: number;
  /** Sends a progress-type report on the current stream; dropped while disconnected. */
  readonly report: (message: AgentMessage) => void;
  readonly logger: Logger;
}

/** An attempt the agent is running. */
export interface RunningAttempt {
  readonly attemptId: string;
  /** Stops the attempt; it finishes as `cancelled`. */
  abort(reason: string): void;
  /** The terminal report; never rejects. */
  readonly finished: Promise<TaskFinished>;
}

/** Starts running `dispatch` now. */
export function startAttempt(options: StartAttemptOptions): RunningAttempt {
  const { dispatch, report } = options;
  const attemptId = dispatch.attemptId;
  const logger = options.logger.child({ jobId: dispatch.jobId, taskId: dispatch.taskId, attemptId });
  const controller = new AbortController();
  let settled = false;
  const coalescer = new ProgressCoalescer({
    intervalMs: options.progressIntervalMs,
    maxOutputChars: MAX_OUTPUT_CHARS_PER_REPORT,
    emit: (batch) => report({ kind: { $case: 'taskProgress', value: { attemptId, progressJson: batch.progressJson, outputChunk: batch.outputChunk } } }),
  });
  // Hooks called after the outcome (a straggling output line) must not reorder reports.
  const hooks = {
    onStarted: () => {
      if (!settled) report({ kind: { $case: 'taskStarted', value: { attemptId } } });
    },
    onProgress: (progressJson: string) => {
      if (!settled) coalescer.addProgress(progressJson);
    },
    onOutput: (chunk: string) => {
      if (!settled) coalescer.addOutput(chunk);
    },
  };

  const startedAt = Date.now();
  const finished = (async (): Promise<TaskFinished> => {
    let outcome: TaskOutcome;
    try {
      outcome = await options.executor.execute(dispatch, hooks, controller.signal, options.placement);
    } catch (error) {
      logger.error({ err: error }, 'task executor failed');
      outcome = agentErrorOutcome(error, Date.now() - startedAt);
    }
    settled = true;
    coalescer.flush();
    coalescer.dispose();
    // An executor that ignored the abort still ran a cancelled attempt.
    const failureKind = controller.signal.aborted && outcome.failureKind === '' ? 'cancelled' : outcome.failureKind;
    logger.info({ exitCode: outcome.exitCode, failureKind, runtimeMs: outcome.runtimeMs }, 'attempt finished');
    return {
      attemptId,
      exitCode: outcome.exitCode,
      resultJson: outcome.resultJson,
      outputTail: outcome.outputTail,
      errorTail: outcome.errorTail,
      failureKind,
      runtimeMs: Math.max(0, Math.round(outcome.runtimeMs)),
      artifactIds: [...outcome.artifactIds],
    };
  })();

  return {
    attemptId,
    finished,
    abort: (reason) => {
      if (controller.signal.aborted) return;
      logger.info({ reason }, 'aborting attempt');
      controller.abort(new Error(reason));
    },
  };
}

/** A TaskFinished for a dispatch the agent refused (draining, no capacity, bad request). */
export function rejectedFinished(attemptId: string, reason: string): TaskFinished {
  return { attemptId, exitCode: -1, resultJson: '', outputTail: '', errorTail: reason, failureKind: 'rejected', runtimeMs: 0, artifactIds: [] };
}

function agentErrorOutcome(error: unknown, runtimeMs: number): TaskOutcome {
  const message = error instanceof Error ? error.message : String(error);
  return { exitCode: -1, resultJson: '', outputTail: '', errorTail: `agent error: ${message}`.slice(-1000), failureKind: 'agent_error', runtimeMs, artifactIds: [] };
}
