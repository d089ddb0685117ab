/**
 * The task's environment, built from nothing (the agent's own environment never
 * leaks in), in the reference's order — later layers win:
 *
 * 1. base runtime: PATH, HOME, LANG, TMPDIR, PYTHONUNBUFFERED
 * 2. project env files in the project root: `.computalot.env`, `computalot.env`, `.env`
 * 3. the project's `env` map
 * 4. the job's `meta.env` overrides
 * 5. the protocol's `COMPUTALOT_*` variables — last, so users cannot override them
 *
 * Then, if `<project>/.venv/bin/python` exists, `<project>/.venv/bin` is put first
 * on PATH (reference: "Computalot prepends .venv/bin to PATH").
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDotenv } from './dotenv.js';

/** Env files read from the project root, in this order. */
export const PROJECT_ENV_FILES = ['.computalot.env', 'computalot.env', '.env'] as const;

/** Inputs of {@link buildTaskEnv}. */
export interface TaskEnvInput {
  /** Layer 1, the base runtime (see {@link baseRuntimeEnv}). */
  readonly base: Readonly<Record<string, string>>;
  /** Project root holding the env files and maybe `.venv`; none for recipes. */
  readonly projectDir?: string;
  readonly projectEnv?: Readonly<Record<string, string>>;
  readonly metaEnv?: Readonly<Record<string, string>>;
  /** Protocol variables; every key must start with `COMPUTALOT_`. */
  readonly protocol: Readonly<Record<string, string>>;
}

/** The environment and notes about what was ignored. */
export interface TaskEnv {
  readonly env: Record<string, string>;
  readonly warnings: string[];
}

/** Layer 1: what every task starts from. `binDirs` go first on PATH (resolved interpreters). */
export function baseRuntimeEnv(scratchDir: string, binDirs: readonly string[] = []): Record<string, string> {
  const path = [...new Set([...binDirs, '/usr/local/bin', '/usr/bin', '/bin'])].join(':');
  return {
    PATH: path,
    HOME: scratchDir,
    LANG: 'C.UTF-8',
    TMPDIR: scratchDir,
    // Live output: the reference asks runners to flush; Python is told to by default.
    PYTHONUNBUFFERED: '1',
  };
}

/** Builds the task environment (see the module comment for the order). */
export async function buildTaskEnv(input: TaskEnvInput): Promise<TaskEnv> {
  const env: Record<string, string> = { ...input.base };
  const warnings: string[] = [];
  const apply = (layer: Readonly<Record<string, string>>, source: string): void => {
    for (const [key, value] of Object.entries(layer)) {
      if (key.startsWith('COMPUTALOT_')) {
        warnings.push(`${source}: ${key} ignored (COMPUTALOT_* variables belong to the runner protocol)`);
        continue;
      }
      if (key === '' || key.includes('=') || key.includes('\0') || value.includes('\0')) {
        warnings.push(`${source}: invalid variable ${JSON.stringify(key)} ignored`);
        continue;
      }
      env[key] = value;
    }
  };
  if (input.projectDir !== undefined) {
    for (const file of PROJECT_ENV_FILES) {
      let text: string;
      try {
        text = await readFile(join(input.projectDir, file), 'utf8');
      } catch {
        continue;
      }
      const parsed = parseDotenv(text);
      warnings.push(...parsed.warnings.map((w) => `${file} ${w}`));
      apply(parsed.vars, file);
    }
  }
  apply(input.projectEnv ?? {}, 'project env');
  apply(input.metaEnv ?? {}, 'meta.env');
  for (const [key, value] of Object.entries(input.protocol)) env[key] = value;
  if (input.projectDir !== undefined && existsSync(join(input.projectDir, '.venv', 'bin', 'python'))) {
    const venvBin = join(input.projectDir, '.venv', 'bin');
    env['PATH'] = env['PATH'] === undefined || env['PATH'] === '' ? venvBin : `${venvBin}:${env['PATH']}`;
    // What `activate` sets; tools such as pip and uv look for it.
    env['VIRTUAL_ENV'] ??= join(input.projectDir, '.venv');
  }
  return { env, warnings };
}
