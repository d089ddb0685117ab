/**
 * `computalot dev`: the whole platform in one process with the embedded store —
 * the README's first command, so it needs no file and no Redis.
 */
import type { CliOutput } from '../main.js';
import { integerFlag } from './flags.js';
import { runControllerWithConfig } from './run-with-config.js';

/** Flags of `computalot dev`, as typed. */
export interface DevFlags {
  readonly port?: string | undefined;
  readonly dataDir?: string | undefined;
  readonly shards?: string | undefined;
}

/** Variables that would point dev at Redis; dev is embedded by definition, so they are ignored. */
const STORE_SELECTION_VARIABLES = ['COMPUTALOT_STORE', 'COMPUTALOT_REDIS_URL', 'COMPUTALOT_REDIS_PATH'] as const;

/** Runs `computalot dev`; resolves with the exit code once stopped. */
export async function runDev(flags: DevFlags, output: CliOutput): Promise<number> {
  const env: Record<string, string | undefined> = { ...process.env };
  // dev never reads cluster.yml: that file describes a cluster, not a laptop.
  delete env.COMPUTALOT_CONFIG;
  const notices: string[] = [];
  for (const name of STORE_SELECTION_VARIABLES) {
    if (env[name]?.trim()) notices.push(`computalot dev always uses the embedded store; ignoring ${name}`);
    delete env[name];
  }
  return runControllerWithConfig(
    'dev',
    {
      env,
      overrides: {
        store: { kind: 'embedded', data_dir: flags.dataDir },
        shards: integerFlag(flags.shards),
        // `--port 0` (tests, several dev instances) must not collide on the default agent port either.
        controller: { http: { port: integerFlag(flags.port) }, ...(integerFlag(flags.port) === 0 ? { grpc: { port: 0 } } : {}) },
      },
    },
    output,
    notices,
    // One local agent; without a sandbox on the machine it falls back to `process` with a loud warning (ARCHITECTURE.md §6).
    { bootstrapDevApiKey: true, localAgent: { allowUnsandboxed: true } },
  );
}
