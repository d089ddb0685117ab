/**
 * Entry point of the `computalot` command: picks the subcommand, parses its
 * flags with `node:util` parseArgs and runs it. Returns the process exit code:
 * 0 done, 1 failed at runtime (bad config, store unavailable), 2 bad usage.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { COMPUTALOT_VERSION } from '../shared/version.js';
import type { AgentComponentsFactory } from './commands/serve-agent.js';
import { ADMIN_USAGE, AGENT_USAGE, CONTROLLER_USAGE, DEV_USAGE, MAIN_USAGE } from './usage.js';

/** Where the CLI writes; tests pass buffers instead of the process streams. */
export interface CliOutput {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const processOutput: CliOutput = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Parsed flag values, as `parseArgs` returns them. */
type FlagValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** A subcommand: its flags, its usage text and its body (loaded lazily, so `--help` stays fast). */
interface CommandSpec {
  readonly usage: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  /** Whether the command takes words after its name (`admin keys create`); default false. */
  readonly positionals?: boolean;
  readonly run: (values: FlagValues, output: CliOutput, positionals: readonly string[], deps: CliDeps) => Promise<number>;
}

/** Parts the CLI cannot build itself; the entry point (bin/computalot.js) supplies them. */
export interface CliDeps {
  /** Builds the task executor and project preparer of `computalot agent`. */
  readonly agentComponents?: AgentComponentsFactory;
}

const helpOption = { help: { type: 'boolean', short: 'h' } } as const;

const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  dev: {
    usage: DEV_USAGE,
    options: { ...helpOption, port: { type: 'string' }, 'data-dir': { type: 'string' }, shards: { type: 'string' } },
    run: async (values, output) => {
      const { runDev } = await import('./commands/dev.js');
      return runDev({ port: stringFlag(values.port), dataDir: stringFlag(values['data-dir']), shards: stringFlag(values.shards) }, output);
    },
  },
  controller: {
    usage: CONTROLLER_USAGE,
    options: { ...helpOption, config: { type: 'string' }, port: { type: 'string' } },
    run: async (values, output) => {
      const { runController } = await import('./commands/controller.js');
      return runController({ config: stringFlag(values.config), port: stringFlag(values.port) }, output);
    },
  },
  admin: {
    usage: ADMIN_USAGE,
    positionals: true,
    options: {
      ...helpOption,
      config: { type: 'string' },
      'data-dir': { type: 'string' },
      shards: { type: 'string' },
      account: { type: 'string' },
      role: { type: 'string' },
      label: { type: 'string' },
    },
    run: async (values, output, positionals) => {
      const { runAdmin } = await import('./commands/admin-keys.js');
      const flags = {
        config: stringFlag(values.config),
        dataDir: stringFlag(values['data-dir']),
        shards: stringFlag(values.shards),
        account: stringFlag(values.account),
        role: stringFlag(values.role),
        label: stringFlag(values.label),
      };
      return runAdmin(positionals, flags, output);
    },
  },
  agent: {
    usage: AGENT_USAGE,
    options: {
      ...helpOption,
      controller: { type: 'string' },
      config: { type: 'string' },
      group: { type: 'string' },
      'work-dir': { type: 'string' },
      'agent-id': { type: 'string' },
      cpu: { type: 'string' },
      'memory-mb': { type: 'string' },
      'storage-gb': { type: 'string' },
      profile: { type: 'string' },
      sandbox: { type: 'string' },
      'allow-unsandboxed': { type: 'boolean' },
      'drain-timeout-s': { type: 'string' },
    },
    run: async (values, output, _positionals, deps) => {
      const { runAgent } = await import('./commands/agent.js');
      const { productAgentComponents } = await import('../node-agent/product-components.js');
      // The product's executor and preparer unless a caller (a test) brings its own.
      const components: AgentComponentsFactory =
        deps.agentComponents ??
        (async (context) =>
          productAgentComponents({
            workDir: context.workDir,
            allowUnsandboxed: context.allowUnsandboxed,
            logger: context.logger,
            agentToken: context.config.controller.agent_token,
            sandboxKinds: context.sandboxKinds,
          }));
      const flags = {
        controller: stringFlag(values.controller),
        config: stringFlag(values.config),
        group: stringFlag(values.group),
        workDir: stringFlag(values['work-dir']),
        agentId: stringFlag(values['agent-id']),
        cpu: stringFlag(values.cpu),
        memoryMb: stringFlag(values['memory-mb']),
        storageGb: stringFlag(values['storage-gb']),
        profile: stringFlag(values.profile),
        sandbox: stringFlag(values.sandbox),
        allowUnsandboxed: values['allow-unsandboxed'] === true,
        drainTimeoutS: stringFlag(values['drain-timeout-s']),
      };
      return runAgent(flags, output, components);
    },
  },
};

function stringFlag(value: FlagValues[string]): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Runs the CLI with `argv` (without node and script path) and resolves to the exit code. */
export async function main(argv: readonly string[], output: CliOutput = processOutput, deps: CliDeps = {}): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    (first === undefined ? output.stderr : output.stdout)(MAIN_USAGE);
    return first === undefined ? 2 : 0;
  }
  if (first === '-v' || first === '--version') {
    output.stdout(`${COMPUTALOT_VERSION}\n`);
    return 0;
  }
  const command = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
  if (command === undefined) {
    output.stderr(`computalot: unknown command '${first}'\n\n${MAIN_USAGE}`);
    return 2;
  }

  let values: FlagValues;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...rest], options: command.options, allowPositionals: command.positionals ?? false, strict: true }));
  } catch (error) {
    output.stderr(`computalot ${first}: ${(error as Error).message}\n\n${command.usage}`);
    return 2;
  }
  if (values.help === true) {
    output.stdout(command.usage);
    return 0;
  }
  return command.run(values, output, positionals, deps);
}
