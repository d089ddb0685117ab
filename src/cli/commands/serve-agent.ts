/**
 * Runs one node agent until SIGINT/SIGTERM: detect capacity and sandboxes →
 * build the executor and preparer → connect (and keep reconnecting) → on the
 * signal, drain: no new work, running attempts finish or are aborted at the
 * deadline, last results delivered, stream closed.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Gpu } from '../../gen/computalot/agent/v1/agent.js';
import { NodeAgent, detectCapacity, detectSandboxKinds, type NodeProfile, type ProjectPreparer, type SandboxSetting, type TaskExecutor } from '../../node-agent/index.js';
import type { ClusterConfig } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import type { CliOutput } from '../main.js';
import { waitForStopSignal } from './stop-signal.js';

/** What the executor and preparer are built from. */
export interface AgentComponentsContext {
  readonly config: ClusterConfig;
  /** Absolute work directory (task dirs, project cache). */
  readonly workDir: string;
  /** Sandbox kinds this node advertises, strongest first. */
  readonly sandboxKinds: readonly string[];
  readonly allowUnsandboxed: boolean;
  readonly logger: Logger;
}

/** The parts of an agent that run work; the product's are built on the runner and projects code. */
export interface AgentComponents {
  readonly executor: TaskExecutor;
  readonly preparer: ProjectPreparer;
}

/** Builds the executor and preparer once the node is known. */
export type AgentComponentsFactory = (context: AgentComponentsContext) => Promise<AgentComponents>;

/** Resolved settings of one agent (flags over config group over detection). */
export interface AgentSettings {
  readonly controllers: readonly string[];
  readonly workDir: string;
  readonly agentId?: string | undefined;
  readonly cpu?: number | undefined;
  readonly memoryMb?: number | undefined;
  readonly storageGb?: number | undefined;
  readonly profile?: NodeProfile | undefined;
  readonly gpus?: readonly Gpu[] | undefined;
  readonly sandbox: SandboxSetting;
  readonly allowUnsandboxed: boolean;
  readonly labels: Readonly<Record<string, string>>;
  /** How long running attempts may finish after SIGTERM, in ms. */
  readonly drainDeadlineMs: number;
}

/** Options of {@link serveAgent}. */
export interface ServeAgentOptions {
  readonly config: ClusterConfig;
  readonly settings: AgentSettings;
  readonly logger: Logger;
  readonly output: CliOutput;
  readonly components: AgentComponentsFactory;
}

/**
 * Starts the agent and resolves with the exit code after a graceful stop.
 *
 * @throws when the work dir cannot be created or the chosen sandbox is unavailable.
 */
export async function serveAgent({ config, settings, logger, output, components }: ServeAgentOptions): Promise<number> {
  const stopSignal = waitForStopSignal(logger);
  try {
    const workDir = resolve(settings.workDir);
    await mkdir(workDir, { recursive: true });
    const { capacity, gpuNote } = await detectCapacity({
      workDir,
      declared: { cpu: settings.cpu, memoryMb: settings.memoryMb, storageGb: settings.storageGb, gpus: settings.gpus, profile: settings.profile },
    });
    const sandboxKinds = await detectSandboxKinds({ setting: settings.sandbox, allowUnsandboxed: settings.allowUnsandboxed });
    if (sandboxKinds.length === 0) {
      logger.warn('no sandbox backend available and allow_unsandboxed is off: this agent will not be given project code');
    }
    logger.info({ capacity, gpuNote, sandboxKinds, workDir }, 'agent capacity');
    const { executor, preparer } = await components({ config, workDir, sandboxKinds, allowUnsandboxed: settings.allowUnsandboxed, logger });

    const agent = new NodeAgent({
      controllers: settings.controllers,
      capacity,
      sandboxKinds,
      executor,
      preparer,
      logger,
      agentId: settings.agentId,
      labels: settings.labels,
      agentToken: config.controller.agent_token,
      onRegistered: ({ controller, workerId }) => output.stdout(`Agent ${agent.agentId} registered with ${controller} as ${workerId}\n`),
    });
    agent.start();
    const signal = await stopSignal.received;
    logger.info({ signal, drainDeadlineMs: settings.drainDeadlineMs }, 'agent stopping');
    await agent.stop({ drainDeadlineMs: settings.drainDeadlineMs });
    logger.info('agent stopped');
    return 0;
  } finally {
    stopSignal.dispose();
  }
}
