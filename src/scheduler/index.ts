/** Scheduling: ready queues, placement on local agents, task/job effect handlers (ARCHITECTURE.md §5). */
export { Scheduler, type SchedulerOptions } from './scheduler.js';
export { jobEffectHandlers, AGENT_GROUP } from './job-effects.js';
export { ReadyQueues, type ReadyAttempt } from './ready-queue.js';
export { fits, type FreeCapacity } from './capacity.js';
export { RESOURCE_PRESETS, type ResourcePreset } from './presets.js';
