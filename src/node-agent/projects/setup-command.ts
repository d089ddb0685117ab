import { access, constants, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { DEFAULT_RUNTIME_PATHS, type SandboxBackend } from '../sandbox/index.js';
import { baseRuntimeEnv, errorTail, OutputRing } from '../runner/index.js';

/** One preparation step: a Dockerfile `RUN`, a `runtime.init` or `validation` command. */
export interface SetupCommand {
  readonly label: string;
  readonly argv: readonly string[];
  /** Absolute path in the image (under the manifest's workdir), mapped onto the prepared tree. */
  readonly workdir: string;
  readonly env: Readonly<Record<string, string>>;
}

/**
 * Runs one setup step in the sandbox, with the revision's tree writable (a
 * step may create `.venv`, build artifacts …) and no network, like a task.
 * Returns null on exit 0, else a message naming the step with its output tail.
 */
export async function runSetupCommand(sandbox: SandboxBackend, tree: string, imageWorkdir: string, command: SetupCommand, deadline: number): Promise<string | null> {
  const remaining = deadline - Date.now();
  if (remaining <= 0) return `${command.label}: setup_timeout_s exhausted before this step`;
  const executable = await resolveOnPath(command.argv[0] ?? '', tree);
  if (!executable) return `${command.label}: executable "${command.argv[0] ?? ''}" not found on this node`;
  const scratch = await mkdtemp(join(tmpdir(), 'computalot-setup-'));
  try {
    const cwd = mapIntoTree(tree, imageWorkdir, command.workdir);
    const env = { ...baseRuntimeEnv(scratch, [join(tree, '.venv', 'bin')]), ...command.env };
    const child = sandbox.launch({
      argv: [executable, ...command.argv.slice(1)],
      cwd,
      env,
      readOnlyPaths: DEFAULT_RUNTIME_PATHS,
      writablePaths: [tree, scratch],
      network: 'none',
      hardTimeoutMs: remaining,
    });
    const output = new OutputRing();
    child.stdout.on('data', (chunk: Buffer) => output.write(chunk));
    child.stderr.on('data', (chunk: Buffer) => output.write(chunk));
    const exit = await child.wait();
    if (exit.exitCode === 0) return null;
    const why = exit.hardTimedOut ? 'timed out' : exit.launchError ? `could not start (${exit.launchError})` : `exited ${exit.exitCode ?? exit.signal ?? '?'}`;
    return `${command.label}: ${why}\n${errorTail(output.text())}`;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Image paths under the workdir live in the tree; `/workspace/sub` → `<tree>/sub`. */
function mapIntoTree(tree: string, imageWorkdir: string, path: string): string {
  const rel = relative(imageWorkdir, path);
  if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) return join(tree, rel);
  return tree;
}

/** Absolute path of `name`: the project's `.venv/bin` first, then the system PATH. */
export async function resolveOnPath(name: string, tree: string): Promise<string | undefined> {
  if (name === '') return undefined;
  if (isAbsolute(name)) return (await isExecutable(name)) ? name : undefined;
  for (const dir of [join(tree, '.venv', 'bin'), '/usr/local/bin', '/usr/bin', '/bin']) {
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}
