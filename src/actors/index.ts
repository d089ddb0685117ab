/**
 * The actors area's public surface: the four entity kinds the runtime hosts,
 * their machines, events and the effect kinds their handlers implement.
 */
import type { ActorKind } from './runtime/actor-kind.js';
import { accountKind } from './account/account.kind.js';
import { jobKind } from './job/job.kind.js';
import { taskKind } from './task/task.kind.js';
import { workerKind } from './worker/worker.kind.js';

/** Every entity kind, for `ActorRouter` registration. */
export const actorKinds: readonly ActorKind[] = [jobKind, taskKind, workerKind, accountKind];

export { accountKind, jobKind, taskKind, workerKind };
export { accountMachine, type AccountMachine } from './account/account.machine.js';
export { jobMachine, type JobMachine } from './job/job.machine.js';
export { taskMachine, type TaskMachine } from './task/task.machine.js';
export { workerMachine, type WorkerMachine } from './worker/worker.machine.js';

export type * from './account/account.events.js';
export type { AccountContext, Hold, LedgerEntry, Quote } from './account/account.logic.js';
export { MICROS_PER_USD } from './account/account.logic.js';
export type * from './job/job.events.js';
export { JOB_EFFECT } from './job/job.events.js';
export type { JobContext } from './job/job.logic.js';
export type * from './task/task.events.js';
export { TASK_EFFECT } from './task/task.events.js';
export type { AttemptRecord, TaskContext } from './task/task.logic.js';
export type * from './worker/worker.events.js';
export { WORKER_EFFECT } from './worker/worker.events.js';
export type { Allocation, WorkerContext } from './worker/worker.logic.js';

export { ENTITY_KIND, attemptIdOf, parseTaskId, taskIdOf } from './shared/ids.js';
export type { ResourceRequirements } from './shared/resources.js';
