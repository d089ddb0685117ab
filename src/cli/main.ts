/**
 * Entry point of the `computalot` command: picks the subcommand, parses its
 * flags with `node:util` parseArgs and runs it. Returns the process exit code:
 * 0 done, 1 failed at runtime (bad config, store unavailable), 2 bad usage.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { COMPUTALOT_VERSION } from '../shared/version.js';
import { CONTROLLER_USAGE, DEV_USAGE, MAIN_USAGE } from './usage.js';

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
  readonly run: (values: FlagValues, output: CliOutput) => Promise<number>;
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
};

function stringFlag(value: FlagValues[string]): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Runs the CLI with `argv` (without node and script path) and resolves to the exit code. */
export async function main(argv: readonly string[], output: CliOutput = processOutput): Promise<number> {
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
  try {
    ({ values } = parseArgs({ args: [...rest], options: command.options, allowPositionals: false, strict: true }));
  } catch (error) {
    output.stderr(`computalot ${first}: ${(error as Error).message}\n\n${command.usage}`);
    return 2;
  }
  if (values.help === true) {
    output.stdout(command.usage);
    return 0;
  }
  return command.run(values, output);
}
