/**
 * `computalot agent`: one node agent. Settings come from flags, then the agent
 * group named by `--group` in cluster.yml, then detection on this machine; the
 * agent token from `controller.agent_token` / `COMPUTALOT_AGENT_TOKEN` (never a
 * flag: argv is visible to every user in `ps`).
 */
import { join } from 'node:path';
import { loadConfig, type AgentGroupConfig, type ClusterConfig } from '../../shared/config.js';
import { ConfigError } from '../../shared/errors.js';
import { formatHostPort } from '../../shared/grpc-channel.js';
import { createLogger } from '../../shared/logger.js';
import { parseControllerTargets } from '../../node-agent/index.js';
import type { CliOutput } from '../main.js';
import { AGENT_USAGE } from '../usage.js';
import type { AgentComponentsFactory, AgentSettings } from './serve-agent.js';

/** Flags of `computalot agent`, as typed. */
export interface AgentFlags {
  readonly controller?: string | undefined;
  readonly config?: string | undefined;
  readonly group?: string | undefined;
  readonly workDir?: string | undefined;
  readonly agentId?: string | undefined;
  readonly cpu?: string | undefined;
  readonly memoryMb?: string | undefined;
  readonly storageGb?: string | undefined;
  readonly profile?: string | undefined;
  readonly sandbox?: string | undefined;
  readonly allowUnsandboxed?: boolean | undefined;
  readonly drainTimeoutS?: string | undefined;
}

/** A flag mistake: printed with the usage text, exit 2. */
class AgentUsageError extends Error {}

const SANDBOX_SETTINGS = ['auto', 'nsjail', 'bwrap', 'gvisor', 'process'] as const;
const DEFAULT_DRAIN_TIMEOUT_S = 30;

/**
 * Runs `computalot agent`; resolves with the exit code once stopped.
 *
 * @param components builds the task executor and project preparer.
 */
export async function runAgent(flags: AgentFlags, output: CliOutput, components: AgentComponentsFactory): Promise<number> {
  let config: ClusterConfig;
  try {
    config = loadConfig({ file: flags.config, env: process.env });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    output.stderr(`computalot agent: invalid configuration\n${error.message}\n`);
    return 1;
  }
  let settings: AgentSettings;
  try {
    settings = resolveAgentSettings(flags, config);
  } catch (error) {
    if (!(error instanceof AgentUsageError)) throw error;
    output.stderr(`computalot agent: ${error.message}\n\n${AGENT_USAGE}`);
    return 2;
  }
  const logger = createLogger({ level: config.log_level, name: 'computalot-agent' });
  try {
    // Loaded only now: usage and configuration errors should not wait for the runtime to load.
    const { serveAgent } = await import('./serve-agent.js');
    return await serveAgent({ config, settings, logger, output, components });
  } catch (error) {
    logger.fatal({ err: error }, 'agent failed');
    output.stderr(`computalot agent: ${(error as Error).message}\n`);
    return 1;
  }
}

/**
 * Flags over the config group over defaults.
 *
 * @throws AgentUsageError for a malformed flag or an unknown group.
 */
export function resolveAgentSettings(flags: AgentFlags, config: ClusterConfig): AgentSettings {
  const group = findGroup(flags.group, config.agents);
  const controllerText = flags.controller ?? formatHostPort(config.controller.grpc.host, config.controller.grpc.port);
  let controllers: string[];
  try {
    controllers = parseControllerTargets(controllerText);
  } catch (error) {
    throw new AgentUsageError(`--controller: ${(error as Error).message}`);
  }
  const sandbox = flags.sandbox ?? group?.sandbox ?? 'auto';
  if (!(SANDBOX_SETTINGS as readonly string[]).includes(sandbox)) throw new AgentUsageError(`--sandbox: expected one of ${SANDBOX_SETTINGS.join(', ')}, got '${sandbox}'`);
  const profile = flags.profile ?? group?.profile;
  if (profile !== undefined && profile !== 'cpu' && profile !== 'gpu') throw new AgentUsageError(`--profile: expected cpu or gpu, got '${profile}'`);
  return {
    controllers,
    workDir: flags.workDir ?? join(config.store.data_dir, 'agent'),
    agentId: flags.agentId,
    cpu: positiveFlag('--cpu', flags.cpu) ?? group?.cpu,
    memoryMb: positiveFlag('--memory-mb', flags.memoryMb) ?? group?.memory_mb,
    storageGb: positiveFlag('--storage-gb', flags.storageGb) ?? group?.storage_gb,
    profile,
    gpus: group?.gpus.map((gpu) => ({ index: gpu.index, name: gpu.name, memoryMb: gpu.memory_mb })),
    sandbox: sandbox as AgentSettings['sandbox'],
    allowUnsandboxed: flags.allowUnsandboxed === true || group?.allow_unsandboxed === true,
    labels: group?.labels ?? {},
    drainDeadlineMs: (nonNegativeFlag('--drain-timeout-s', flags.drainTimeoutS) ?? DEFAULT_DRAIN_TIMEOUT_S) * 1000,
  };
}

function findGroup(name: string | undefined, groups: readonly AgentGroupConfig[]): AgentGroupConfig | undefined {
  if (name === undefined) return undefined;
  const group = groups.find((candidate) => candidate.name === name);
  if (group === undefined) throw new AgentUsageError(`--group: no agent group '${name}' in the configuration (have: ${groups.map((g) => g.name).join(', ') || 'none'})`);
  return group;
}

function positiveFlag(name: string, text: string | undefined): number | undefined {
  const value = nonNegativeFlag(name, text);
  if (value === 0) throw new AgentUsageError(`${name}: expected a whole number above 0`);
  return value;
}

function nonNegativeFlag(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim())) throw new AgentUsageError(`${name}: expected a whole number, got '${text}'`);
  return Number(text.trim());
}
