/**
 * The unsandboxed backend: a plain child process. No filesystem or network
 * isolation at all — explicit opt-in only (`allow_unsandboxed`), with one loud
 * warning per agent. It still gives the task an environment built from scratch
 * (nothing of the agent's), its own process group so a kill reaches the tree, and
 * cgroup limits where the host allows.
 */
import { TaskCgroup } from './cgroups.js';
import { newSandboxId, signalGroup, startLauncher } from './launcher.js';
import { assertCwdMounted, planMounts } from './mounts.js';
import { descendants, signalPids } from './process-tree.js';
import type { SandboxBackend, SandboxedProcess, SandboxLaunchSpec } from './sandbox.js';

/** Receives the one-time warning; default `console.warn`. */
export type WarnOnce = (message: string) => void;

/** The unsandboxed {@link SandboxBackend}. */
export class ProcessBackend implements SandboxBackend {
  readonly kind = 'process' as const;
  private warned = false;

  constructor(private readonly warn: WarnOnce = (message) => console.warn(message)) {}

  async available(): Promise<boolean> {
    return true;
  }

  unavailableReason(): string | undefined {
    return undefined;
  }

  launch(spec: SandboxLaunchSpec): SandboxedProcess {
    if (spec.argv.length === 0) throw new Error('empty argv');
    assertCwdMounted(spec.cwd, planMounts(spec.readOnlyPaths, spec.writablePaths));
    if (!this.warned) {
      this.warned = true;
      this.warn(
        '[computalot] WARNING: running tasks WITHOUT a sandbox (backend "process"): task code can read this ' +
          "node's files and reach its network. Install bubblewrap or gVisor, or remove allow_unsandboxed.",
      );
    }
    const cgroup = TaskCgroup.create(spec.id ?? newSandboxId(), spec.limits ?? {});
    return startLauncher({
      argv: cgroup.wrap(spec.argv),
      env: spec.env,
      cwd: spec.cwd,
      cgroup,
      // Every process in the cgroup is the task's own: TERM may go to all of them.
      cgroupSweepsAllSignals: true,
      ...(spec.hardTimeoutMs === undefined ? {} : { hardTimeoutMs: spec.hardTimeoutMs }),
      signalTree: async (signal, launcherPid) => {
        // Children that changed process group are still found by parentage.
        signalPids(
          descendants(launcherPid).map((p) => p.pid),
          signal,
        );
        signalGroup(launcherPid, signal);
      },
    });
  }
}
