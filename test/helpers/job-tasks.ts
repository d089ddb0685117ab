import { jobRef, taskIdOf, taskRef } from '../../src/actors/shared/ids.js';
import type { ControllerNode } from '../../src/actors/runtime/index.js';
import { normaliseRequirements } from '../../src/actors/shared/resources.js';
import { taskCreateEvent, TaskPlans } from '../../src/jobs/task-plan.js';
import { ReadyQueues } from '../../src/scheduler/ready-queue.js';
import type { JsonObject } from '../../src/shared/json.js';
import type { Store } from '../../src/store/store.js';
import { waitFor } from './wait.js';

/**
 * A job's tasks come to exist when the scheduler dispatches them. Tests that
 * drive tasks by hand, with no scheduler, create them the same way: taken
 * from the job's ready-queue range, then `task.create` from the job's plan
 * with the event id the scheduler uses, but as waiting tasks (not claimed by
 * a dispatch). Resolves when they exist.
 */
export async function createJobTasks(node: ControllerNode, store: Store, jobId: string, taskCount: number): Promise<void> {
  await waitFor(`job ${jobId} planned with ${taskCount} tasks`, async () => {
    const [job] = (await node.readModels([jobRef(jobId)])) as (JsonObject | null)[];
    return ((job?.summary as JsonObject | undefined)?.tasks as JsonObject | undefined)?.total === taskCount;
  });
  const plan = await TaskPlans.for(node, store).of(jobId);
  if (plan === null) throw new Error(`job ${jobId} has no plan`);
  const range = { jobId, taskCount, requirements: normaliseRequirements(plan.template.requirements) };
  const taken = await waitFor(`job ${jobId} queued`, () => new ReadyQueues(store).takeFromJob(range, taskCount).then((r) => r ?? undefined));
  if (taken.from !== 0 || taken.to !== taskCount) throw new Error(`job ${jobId}: took ${JSON.stringify(taken)} of ${taskCount} tasks`);
  const refs = Array.from({ length: taskCount }, (_, index) => taskRef(taskIdOf(jobId, index)));
  await node.send(refs.map((ref, index) => node.message(ref, taskCreateEvent(plan.template, index, plan.payloads[index] ?? null, 'ready'), `create:${ref.id}`)));
  await waitFor(`the ${taskCount} tasks of ${jobId}`, async () => (await node.readModels(refs)).every((view) => view !== null));
}
