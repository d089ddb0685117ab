/**
 * `computalot controller`: one controller of a cluster (HTTP API + actor host),
 * configured by cluster.yml and `COMPUTALOT_*`. Run any number against one Redis.
 */
import type { CliOutput } from '../main.js';
import { integerFlag } from './flags.js';
import { runControllerWithConfig } from './run-with-config.js';

/** Flags of `computalot controller`, as typed. */
export interface ControllerFlags {
  readonly config?: string | undefined;
  readonly port?: string | undefined;
}

/** Runs `computalot controller`; resolves with the exit code once stopped. */
export async function runController(flags: ControllerFlags, output: CliOutput): Promise<number> {
  return runControllerWithConfig(
    'controller',
    { file: flags.config, env: process.env, overrides: { controller: { http: { port: integerFlag(flags.port) } } } },
    output,
  );
}
