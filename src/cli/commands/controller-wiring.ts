/**
 * Small adapters that connect the controller's parts in `serve-controller.ts`:
 * projects ↔ job submission, runner-command policy, agent preparation reports,
 * and the in-process agent of `computalot dev`.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ProjectPrepared } from '../../gen/computalot/agent/v1/agent.js';
import type { ResolvedProject } from '../../gateway/jobs/submit-job.js';
import { NodeAgent, detectCapacity, detectSandboxKinds } from '../../node-agent/index.js';
import { productAgentComponents } from '../../node-agent/product-components.js';
import { checkRunnerCommand } from '../../node-agent/runner/index.js';
import type { ProjectRegistry } from '../../projects/index.js';
import { ComputalotError } from '../../shared/errors.js';
import type { ClusterConfig } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';

/** The caller's project and its active revision, for a job submission. */
export async function resolveProjectForJob(projects: ProjectRegistry, accountId: string, name: string): Promise<ResolvedProject> {
  const record = await projects.get(accountId, name);
  const revision = record.active_revision;
  if (!revision) {
    throw new ComputalotError('project_has_no_revision', 409, `project ${name} has no pushed code yet: POST /api/v1/projects/${name}/push a tarball first`);
  }
  return { name, contentHash: revision.content_hash, entrypoint: revision.manifest.entrypoint.command };
}

/** The runner's allow-list as the gateway's 422 reason (null when allowed). */
export function runnerCommandRefusal(argv: readonly string[]): string | null {
  const check = checkRunnerCommand(argv);
  return check.ok ? null : check.reason;
}

/** Records an agent's `ProjectPrepared` report on the project (per-node state). */
export async function recordPreparation(
  projects: ProjectRegistry,
  preparing: ReadonlyMap<string, { accountId: string; name: string }>,
  workerId: string,
  message: ProjectPrepared,
  logger: Logger,
): Promise<void> {
  const owner = preparing.get(message.contentHash);
  if (!owner) return;
  const state = message.state === 'ready' ? 'ready' : message.state === 'failed' ? 'failed' : 'preparing';
  await projects.recordNodeState(owner.accountId, owner.name, workerId, message.contentHash, state, message.message || null).catch((error: unknown) => logger.warn({ err: error, workerId }, 'could not record project preparation'));
}

/** `computalot dev`'s own node agent: the product executor and preparer, in this process. */
export interface LocalAgentOptions {
  /** Default `<data_dir>/agent`. */
  readonly workDir?: string;
  /** Allow the `process` backend when no sandbox is available (dev on a bare machine). */
  readonly allowUnsandboxed: boolean;
}

export async function startLocalAgent(config: ClusterConfig, options: LocalAgentOptions, controller: string, logger: Logger): Promise<NodeAgent> {
  const agentLogger = logger.child({ component: 'local-agent' });
  const workDir = resolve(options.workDir ?? join(config.store.data_dir, 'agent'));
  await mkdir(workDir, { recursive: true });
  const { capacity } = await detectCapacity({ workDir, declared: {} });
  const sandboxKinds = await detectSandboxKinds({ setting: 'auto', allowUnsandboxed: options.allowUnsandboxed });
  if (sandboxKinds.length === 1 && sandboxKinds[0] === 'process') {
    agentLogger.warn('no sandbox (bwrap, runsc, nsjail) on this machine: project code runs UNISOLATED as this user. Install bubblewrap for isolation.');
  }
  const { executor, preparer } = productAgentComponents({ workDir, allowUnsandboxed: options.allowUnsandboxed, logger: agentLogger, agentToken: config.controller.agent_token });
  const agent = new NodeAgent({ controllers: [controller], capacity, sandboxKinds, executor, preparer, logger: agentLogger, agentToken: config.controller.agent_token });
  agent.start();
  return agent;
}
