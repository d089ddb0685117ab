/**
 * Per-task cgroups: memory, pids and CPU limits, OOM detection and a reliable
 * "signal the whole tree" (every process in the cgroup, however it detached).
 *
 * Hosts differ: this VM has cgroup v1 hierarchies (`/sys/fs/cgroup/{memory,pids,cpu}`),
 * most modern hosts have the unified v2 tree. Both are handled; when neither is
 * writable the task still runs and {@link TaskCgroup.enforced} says which limits hold.
 *
 * The launcher joins the cgroup *before* exec'ing the sandbox through
 * {@link TaskCgroup.wrap}, a two-line `sh` wrapper that is platform code, not the
 * user's: it writes its own pid into `cgroup.procs` then execs, so not one
 * instruction of the task runs outside the limits.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EnforcedLimits, SandboxLimits } from './sandbox.js';

/** Default mount point of the cgroup filesystem(s). */
export const CGROUP_ROOT = '/sys/fs/cgroup';
/** Parent group all task cgroups live under. */
export const CGROUP_PARENT = 'computalot';
const CFS_PERIOD_US = 100_000;
const V1_CONTROLLERS = ['memory', 'pids', 'cpu'] as const;

/** Which cgroup layout the host has. */
export type CgroupVersion = 1 | 2;

/** Detects the cgroup layout under `root`, or undefined when there is none. */
export function detectCgroupVersion(root = CGROUP_ROOT): CgroupVersion | undefined {
  if (existsSync(join(root, 'cgroup.controllers'))) return 2;
  if (existsSync(join(root, 'memory', 'cgroup.procs')) || existsSync(join(root, 'pids', 'cgroup.procs'))) return 1;
  return undefined;
}

function tryWrite(file: string, value: string): boolean {
  try {
    writeFileSync(file, value);
    return true;
  } catch {
    return false;
  }
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** `name value` lines (memory.events, memory.oom_control) → value of `key`. */
function readKeyed(file: string, key: string): number | undefined {
  const line = readText(file)
    ?.split('\n')
    .find((l) => l.startsWith(`${key} `));
  return line === undefined ? undefined : Number(line.slice(key.length + 1));
}

/** One task's cgroup (a directory per v1 controller, or one v2 directory). */
export class TaskCgroup {
  private constructor(
    /** Cgroup path relative to each hierarchy root, e.g. `/computalot/att_1` (OCI `cgroupsPath`). */
    readonly relativePath: string,
    readonly version: CgroupVersion | undefined,
    private readonly root: string,
    /** Directories created, keyed by controller (`unified` for v2). */
    private readonly dirs: ReadonlyMap<string, string>,
    readonly enforced: EnforcedLimits,
  ) {}

  /**
   * Creates the cgroup and applies `limits`. Never throws: a host without writable
   * cgroups yields a group with no directories and nothing enforced.
   */
  static create(name: string, limits: SandboxLimits, root = CGROUP_ROOT): TaskCgroup {
    const safeName = name.replace(/[^A-Za-z0-9_.-]/g, '_');
    const relativePath = `/${CGROUP_PARENT}/${safeName}`;
    const version = detectCgroupVersion(root);
    const dirs = new Map<string, string>();
    const enforced = { memory: false, pids: false, cpu: false };
    if (version === 1) {
      for (const controller of V1_CONTROLLERS) {
        const dir = join(root, controller, CGROUP_PARENT, safeName);
        try {
          mkdirSync(dir, { recursive: true });
          dirs.set(controller, dir);
        } catch {
          continue;
        }
      }
      const memory = dirs.get('memory');
      if (memory !== undefined && limits.memoryMb !== undefined) {
        const bytes = String(Math.floor(limits.memoryMb * 1024 * 1024));
        enforced.memory = tryWrite(join(memory, 'memory.limit_in_bytes'), bytes);
        // Without this a swap-enabled host lets the task page out instead of dying.
        if (existsSync(join(memory, 'memory.memsw.limit_in_bytes'))) tryWrite(join(memory, 'memory.memsw.limit_in_bytes'), bytes);
      }
      const pids = dirs.get('pids');
      if (pids !== undefined && limits.pids !== undefined) enforced.pids = tryWrite(join(pids, 'pids.max'), String(limits.pids));
      const cpu = dirs.get('cpu');
      if (cpu !== undefined && limits.cpu !== undefined) {
        enforced.cpu =
          tryWrite(join(cpu, 'cpu.cfs_period_us'), String(CFS_PERIOD_US)) &&
          tryWrite(join(cpu, 'cpu.cfs_quota_us'), String(Math.max(1000, Math.round(limits.cpu * CFS_PERIOD_US))));
      }
    } else if (version === 2) {
      // Controllers must be enabled on every ancestor's subtree_control to appear below.
      tryWrite(join(root, 'cgroup.subtree_control'), '+memory +pids +cpu');
      const parent = join(root, CGROUP_PARENT);
      const dir = join(parent, safeName);
      try {
        mkdirSync(parent, { recursive: true });
        tryWrite(join(parent, 'cgroup.subtree_control'), '+memory +pids +cpu');
        mkdirSync(dir, { recursive: true });
        dirs.set('unified', dir);
        if (limits.memoryMb !== undefined) {
          enforced.memory = tryWrite(join(dir, 'memory.max'), String(Math.floor(limits.memoryMb * 1024 * 1024)));
          tryWrite(join(dir, 'memory.swap.max'), '0');
        }
        if (limits.pids !== undefined) enforced.pids = tryWrite(join(dir, 'pids.max'), String(limits.pids));
        if (limits.cpu !== undefined) enforced.cpu = tryWrite(join(dir, 'cpu.max'), `${Math.max(1000, Math.round(limits.cpu * CFS_PERIOD_US))} ${CFS_PERIOD_US}`);
      } catch {
        // Not delegated to us (container, non-root): run without limits, reported via `enforced`.
      }
    }
    return new TaskCgroup(relativePath, version, root, dirs, enforced);
  }

  /** True when the launcher can be moved into at least one hierarchy. */
  get usable(): boolean {
    return this.dirs.size > 0;
  }

  /**
   * Prefixes `argv` with a wrapper that joins this cgroup, then execs `argv`.
   * Returns `argv` unchanged when there is no cgroup to join.
   */
  wrap(argv: readonly string[]): string[] {
    if (!this.usable) return [...argv];
    // Paths are ours and sanitised (no quotes), so single-quoting is safe.
    const joins = [...this.dirs.values()].map((dir) => `echo $$ > '${join(dir, 'cgroup.procs')}'`).join(' && ');
    // `unset PWD`: the shell exports it, and the task's environment must be exactly its spec's.
    return ['/bin/sh', '-c', `${joins} && unset PWD && exec "$@"`, 'computalot-cgroup-enter', ...argv];
  }

  /** Host pids currently in the cgroup. */
  pids(): number[] {
    const dir = this.dirs.get('pids') ?? this.dirs.get('unified') ?? this.dirs.get('memory');
    if (dir === undefined) return [];
    return (readText(join(dir, 'cgroup.procs')) ?? '')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map(Number);
  }

  /** Sends `signal` to every process in the cgroup; returns how many were signalled. */
  signalAll(signal: NodeJS.Signals): number {
    let count = 0;
    for (const pid of this.pids()) {
      try {
        process.kill(pid, signal);
        count += 1;
      } catch {
        // Already gone between listing and signalling.
      }
    }
    return count;
  }

  /** SIGKILLs the tree until the cgroup is empty (a fork bomb may race a single sweep). */
  async killAll(timeoutMs = 2000): Promise<void> {
    const unified = this.dirs.get('unified');
    if (unified !== undefined) tryWrite(join(unified, 'cgroup.kill'), '1');
    const deadline = Date.now() + timeoutMs;
    while (this.signalAll('SIGKILL') > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  }

  /** True when the OOM killer fired inside this cgroup. */
  oomKilled(): boolean {
    const unified = this.dirs.get('unified');
    if (unified !== undefined) return (readKeyed(join(unified, 'memory.events'), 'oom_kill') ?? 0) > 0;
    const memory = this.dirs.get('memory');
    if (memory === undefined) return false;
    return (readKeyed(join(memory, 'memory.oom_control'), 'oom_kill') ?? 0) > 0;
  }

  /** Highest number of pids seen at once, where the kernel reports it. */
  peakPids(): number | undefined {
    const dir = this.dirs.get('pids') ?? this.dirs.get('unified');
    const text = dir === undefined ? undefined : readText(join(dir, 'pids.peak'));
    return text === undefined ? undefined : Number(text.trim());
  }

  /** How often fork/clone was refused by `pids.max`. */
  pidsLimitHits(): number {
    const dir = this.dirs.get('pids') ?? this.dirs.get('unified');
    return dir === undefined ? 0 : (readKeyed(join(dir, 'pids.events'), 'max') ?? 0);
  }

  /** Kills anything left and removes the directories; retries while the kernel drains them. */
  async remove(): Promise<void> {
    await this.killAll();
    const targets = new Set(this.dirs.values());
    if (this.version === 1 && this.usable) {
      // gVisor joins the same path in every v1 hierarchy (cpuset, devices, …): clean those too.
      for (const hierarchy of readdirSync(this.root)) targets.add(join(this.root, hierarchy, this.relativePath));
    }
    for (const dir of targets) {
      for (let attempt = 0; attempt < 50; attempt += 1) {
        try {
          rmdirSync(dir);
          break;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') break;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    }
  }
}
