/**
 * Bubblewrap backend (Debian `bubblewrap`): Linux namespaces + a minimal mount tree.
 *
 * Isolation: every namespace unshared (`--unshare-all`: no network, not even
 * loopback; own pid/ipc/uts/cgroup namespaces), all capabilities dropped (as root,
 * bwrap would otherwise keep almost all of them), a root filesystem built only from
 * the listed paths, `--new-session` (no TIOCSTI into the agent's terminal),
 * `--die-with-parent`. bwrap itself is started with an EMPTY environment: its pid-1
 * reaper is visible to the task as `/proc/1/environ`, and `--clearenv` only clears
 * the task's copy. Limits come from the cgroup the launcher joins before exec.
 */
import { TaskCgroup } from './cgroups.js';
import { newSandboxId, startLauncher } from './launcher.js';
import { assertCwdMounted, DEFAULT_TMPFS_MB, planMounts, type MountEntry } from './mounts.js';
import { ProbedAvailability, findOnPath, runProbe } from './probe.js';
import { descendants, signalPids } from './process-tree.js';
import type { SandboxBackend, SandboxedProcess, SandboxLaunchSpec } from './sandbox.js';

function mountArgs(entry: MountEntry): string[] {
  switch (entry.kind) {
    case 'symlink':
      return ['--symlink', entry.target, entry.path];
    case 'ro-bind':
      return ['--ro-bind', entry.path, entry.path];
    case 'bind':
      return ['--bind', entry.path, entry.path];
  }
}

/** Builds bwrap's argv for `spec` (without the cgroup wrapper). Pure apart from `lstat` of mount paths. */
export function buildBwrapArgv(spec: SandboxLaunchSpec, bwrapPath = 'bwrap'): string[] {
  if (spec.argv.length === 0) throw new Error('empty argv');
  const mounts = planMounts(spec.readOnlyPaths, spec.writablePaths);
  assertCwdMounted(spec.cwd, mounts);
  const tmpfsBytes = (spec.limits?.tmpfsMb ?? DEFAULT_TMPFS_MB) * 1024 * 1024;
  const args = [bwrapPath, '--unshare-all', '--die-with-parent', '--new-session', '--cap-drop', 'ALL', '--clearenv'];
  for (const [key, value] of Object.entries(spec.env)) args.push('--setenv', key, value);
  // /tmp first: attempt directories often live under the host's /tmp and must bind over it.
  args.push('--proc', '/proc', '--dev', '/dev', '--size', String(tmpfsBytes), '--tmpfs', '/tmp');
  for (const entry of mounts) args.push(...mountArgs(entry));
  args.push('--chdir', spec.cwd, '--', ...spec.argv);
  return args;
}

/** The bubblewrap {@link SandboxBackend}. */
export class BwrapBackend extends ProbedAvailability implements SandboxBackend {
  readonly kind = 'bwrap' as const;

  constructor(private readonly bwrapPath: string | undefined = findOnPath('bwrap')) {
    super();
  }

  protected async probe(): Promise<boolean> {
    if (this.bwrapPath === undefined) {
      this.reason = 'bwrap not found on PATH';
      return false;
    }
    // The same namespace set a task gets: a kernel without user namespaces or a
    // container without CAP_SYS_ADMIN fails here rather than on the first task.
    const result = await runProbe(
      [this.bwrapPath, '--unshare-all', '--die-with-parent', '--cap-drop', 'ALL', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', 'true'],
      10_000,
    );
    if (!result.ok) this.reason = `bwrap probe failed: ${result.output || `exit ${String(result.exitCode)}`}`;
    return result.ok;
  }

  launch(spec: SandboxLaunchSpec): SandboxedProcess {
    const bwrap = this.bwrapPath ?? 'bwrap';
    const argv = buildBwrapArgv(spec, bwrap);
    const cgroup = TaskCgroup.create(spec.id ?? newSandboxId(), spec.limits ?? {});
    return startLauncher({
      argv: cgroup.wrap(argv),
      env: {},
      cgroup,
      cgroupSweepsAllSignals: false,
      ...(spec.hardTimeoutMs === undefined ? {} : { hardTimeoutMs: spec.hardTimeoutMs }),
      signalTree: async (signal, launcherPid) => {
        const tree = descendants(launcherPid);
        // TERM goes to the task's processes only: bwrap exiting first would SIGKILL
        // them through --die-with-parent and rob the task of its grace period.
        signalPids(
          tree.filter((p) => signal === 'SIGKILL' || p.comm !== 'bwrap').map((p) => p.pid),
          signal,
        );
        if (signal === 'SIGKILL') signalPids([launcherPid], signal);
      },
    });
  }
}
