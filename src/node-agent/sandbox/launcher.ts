/**
 * Shared plumbing of every backend: spawn the launcher (already wrapped into its
 * cgroup), turn its exit into a {@link SandboxExit}, enforce the hard timeout and
 * release the cgroup afterwards. Backends supply only their argv and how to
 * signal their tree.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { TaskCgroup } from './cgroups.js';
import type { SandboxExit, SandboxedProcess } from './sandbox.js';

/** What a backend hands to {@link startLauncher}. */
export interface LauncherOptions {
  /** Full argv of the launcher, cgroup wrapper included. */
  readonly argv: readonly string[];
  /** Environment of the launcher process itself (not necessarily the task's). */
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly cgroup: TaskCgroup;
  readonly hardTimeoutMs?: number;
  /**
   * Signals the task tree. Called with the launcher's pid; the cgroup sweep runs
   * as well, so this only has to cover what the cgroup cannot (no cgroups here,
   * a sandbox whose processes live elsewhere).
   */
  readonly signalTree: (signal: NodeJS.Signals, launcherPid: number) => Promise<void>;
  /**
   * Whether a non-KILL signal may be swept across the whole cgroup. Not for
   * bwrap/gVisor: their own launcher processes share the cgroup, and a SIGTERM to
   * them tears the sandbox down at once, skipping the task's grace period.
   */
  readonly cgroupSweepsAllSignals: boolean;
  /** Backend cleanup after exit (delete the gVisor container, remove a bundle). */
  readonly cleanup?: () => Promise<void>;
  /** Maps the launcher's raw exit code, e.g. to tell a launcher failure from the task's. */
  readonly onExit?: (exit: SandboxExit) => SandboxExit;
}

/** A short random id for container and cgroup names. */
export function newSandboxId(): string {
  return `t${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
}

/** Spawns the launcher and wraps it as a {@link SandboxedProcess}. */
export function startLauncher(options: LauncherOptions): SandboxedProcess {
  const [file, ...args] = options.argv;
  if (file === undefined) throw new Error('empty launcher argv');
  const child = spawn(file, args, {
    env: { ...options.env },
    // `/` so the wrapper shell's exported PWD reveals nothing about the agent.
    cwd: options.cwd ?? '/',
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group: a group signal reaches whatever the launcher left in it.
    detached: true,
  });
  const pid = child.pid ?? -1;
  let hardTimedOut = false;

  const signalEverything = async (signal: NodeJS.Signals): Promise<void> => {
    if (signal === 'SIGKILL' || options.cgroupSweepsAllSignals) options.cgroup.signalAll(signal);
    if (pid > 0) await options.signalTree(signal, pid);
  };

  const timer =
    options.hardTimeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          hardTimedOut = true;
          void signalEverything('SIGKILL');
        }, options.hardTimeoutMs);
  timer?.unref();

  // 'exit', not 'close': a daemonised grandchild can hold the pipes open forever.
  const exited = new Promise<SandboxExit>((resolve) => {
    child.once('error', (error) => {
      // ENOENT/EACCES on the launcher: nothing ran. 127 mirrors a shell's "not found".
      resolve({ exitCode: 127, signal: null, launchError: error.message });
    });
    child.once('exit', (code, signal) => resolve({ exitCode: code, signal }));
  });
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));

  const finished = exited.then(async (raw) => {
    if (timer !== undefined) clearTimeout(timer);
    // Detached grandchildren may outlive the launcher; the cgroup holds them all.
    await options.cgroup.killAll();
    // A launcher's own group may still hold stragglers on a host without cgroups.
    if (pid > 0) signalGroup(pid, 'SIGKILL');
    // Let buffered output drain, but never wait on a pipe some escaped process still holds.
    const drained = await Promise.race([closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 2000).unref())]);
    if (!drained) {
      child.stdout?.destroy();
      child.stderr?.destroy();
    }
    const oomKilled = options.cgroup.oomKilled();
    try {
      await options.cleanup?.();
    } finally {
      await options.cgroup.remove();
    }
    const exit: SandboxExit = { ...raw, oomKilled, hardTimedOut };
    return options.onExit === undefined ? exit : options.onExit(exit);
  });

  if (child.stdout === null || child.stderr === null) throw new Error('launcher spawned without pipes');
  return {
    pid,
    stdout: child.stdout,
    stderr: child.stderr,
    enforced: options.cgroup.enforced,
    wait: () => finished,
    kill: signalEverything,
  };
}

/** Signals a process group, ignoring one that is already gone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Group already empty.
  }
}
