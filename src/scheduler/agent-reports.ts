import type { TaskFinished } from '../gen/computalot/agent/v1/agent.js';
import type { FailureKind } from '../actors/task/task.events.js';
import type { JsonObject, JsonValue } from '../shared/json.js';

/** The runner's `failure_kind` vocabulary mapped onto the task machine's. */
const FAILURE_KINDS: Record<string, FailureKind> = {
  exit_code: 'exit_code',
  timeout: 'timeout',
  result_invalid: 'result_invalid',
  invalid_result: 'result_invalid',
  missing_result: 'result_invalid',
  prepare: 'preflight',
  preflight: 'preflight',
  sandbox: 'runner_error',
  agent_error: 'runner_error',
  // The agent refused the dispatch (draining, or its free capacity changed): nothing ran.
  rejected: 'runner_error',
  runner_error: 'runner_error',
};

/**
 * Turns an agent's `TaskFinished` into the task actor's event. Success is an
 * empty `failure_kind` and exit code 0; the result file's JSON becomes the
 * task result. `undefined` for attempts the agent reports as cancelled: the
 * task already knows (it asked for the cancel). `startedAt`: the attempt's
 * start, when its report was held back to travel with the result.
 */
export function taskEventFromFinished(finished: TaskFinished, at: number, startedAt?: number): (JsonObject & { type: string }) | undefined {
  const outputTail = finished.outputTail === '' ? null : finished.outputTail;
  const start: JsonObject = startedAt === undefined ? {} : { startedAt };
  if (finished.failureKind === '' && finished.exitCode === 0) {
    return { type: 'task.succeeded', at, attemptId: finished.attemptId, result: parseResult(finished.resultJson), exitCode: 0, outputTail, ...start };
  }
  if (finished.failureKind === 'cancelled') return undefined;
  return {
    type: 'task.failed',
    at,
    attemptId: finished.attemptId,
    exitCode: finished.failureKind === 'exit_code' || finished.exitCode >= 0 ? finished.exitCode : null,
    error: finished.errorTail || finished.outputTail.slice(-1000),
    failureKind: FAILURE_KINDS[finished.failureKind] ?? 'runner_error',
    outputTail,
    ...start,
  };
}

function parseResult(text: string): JsonValue {
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    // The agent validated it already; a parse failure here means a truncated frame.
    return null;
  }
}

/** `<taskId>.a<n>` → `<taskId>`. */
export function taskIdOfAttempt(attemptId: string): string {
  const cut = attemptId.lastIndexOf('.a');
  return cut > 0 ? attemptId.slice(0, cut) : attemptId;
}

/** The last `limit` characters of `previous + chunk`: a task's live output tail. */
export function appendTail(previous: string, chunk: string, limit = 10_240): string {
  const joined = previous + chunk;
  return joined.length > limit ? joined.slice(joined.length - limit) : joined;
}
