/**
 * gVisor backend (Debian `runsc`): the task runs on gVisor's user-space kernel, so
 * a kernel exploit has to get through the Sentry first. Strongest isolation here.
 *
 * Recipe (GOTCHAS.md, re-checked on this VM as root): an OCI bundle whose root is an
 * empty read-only directory plus bind mounts (see `oci-bundle.ts`), `runsc
 * --network=none --root <state> run --bundle <dir> <id>`, and always `runsc delete
 * -force <id>` afterwards. `cgroupsPath` points runsc at our own task cgroup, so the
 * limits and the OOM counter are ours (runsc deletes cgroups it creates itself, and
 * with them the evidence of an OOM kill). Every launch has a hard timeout:
 * `--platform=kvm` hangs on these VMs; the default ptrace platform is used.
 *
 * gVisor's own threads and ptrace stubs are host processes in the same cgroup, so
 * the pids limit is raised by {@link gvisorPidsOverhead} (about 38 on 2 CPUs idle).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { TaskCgroup } from './cgroups.js';
import { newSandboxId, signalGroup, startLauncher } from './launcher.js';
import { DEFAULT_RUNTIME_PATHS } from './mounts.js';
import { writeOciBundle } from './oci-bundle.js';
import { ProbedAvailability, findOnPath } from './probe.js';
import type { SandboxBackend, SandboxedProcess, SandboxLaunchSpec } from './sandbox.js';

/** Hard timeout applied when a spec gives none, ms (a hung runsc must never wedge a slot). */
export const GVISOR_DEFAULT_HARD_TIMEOUT_MS = 6 * 60 * 60 * 1000;

/** Host pids gVisor needs on top of the task's own (Sentry/Gofer threads scale with CPUs). */
export function gvisorPidsOverhead(cpus = availableParallelism()): number {
  return 64 + 8 * cpus;
}

/** Options of {@link GvisorBackend}. */
export interface GvisorOptions {
  /** runsc binary; default: found on PATH. */
  readonly runscPath?: string;
  /** Where bundles and runsc's `--root` state live; default `<tmpdir>/computalot-gvisor`. */
  readonly stateDir?: string;
}

/** Runs `runsc <args>` with a deadline; resolves with its exit code (null on timeout). */
function runsc(runscPath: string, args: readonly string[], timeoutMs: number): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(runscPath, args, { env: {}, stdio: 'ignore', detached: true });
    const timer = setTimeout(() => {
      if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
    }, timeoutMs);
    child.once('error', () => {
      clearTimeout(timer);
      resolve(null);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** The gVisor {@link SandboxBackend}. */
export class GvisorBackend extends ProbedAvailability implements SandboxBackend {
  readonly kind = 'gvisor' as const;
  private readonly runscPath: string | undefined;
  private readonly stateDir: string;

  constructor(options: GvisorOptions = {}) {
    super();
    this.runscPath = options.runscPath ?? findOnPath('runsc');
    this.stateDir = options.stateDir ?? join(tmpdir(), 'computalot-gvisor');
  }

  protected async probe(): Promise<boolean> {
    if (this.runscPath === undefined) {
      this.reason = 'runsc not found on PATH';
      return false;
    }
    if (process.getuid?.() !== 0) {
      // Rootful `runsc run` needs root to set up namespaces and cgroups.
      this.reason = 'gVisor backend needs the agent to run as root';
      return false;
    }
    // A real launch, bounded: proves the platform starts instead of hanging (KVM).
    const sandbox = this.launch({ argv: ['/usr/bin/true'], cwd: '/usr', env: {}, readOnlyPaths: DEFAULT_RUNTIME_PATHS, writablePaths: [], hardTimeoutMs: 30_000 });
    sandbox.stdout.resume();
    const stderr: Buffer[] = [];
    sandbox.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    const exit = await sandbox.wait();
    if (exit.exitCode !== 0) {
      this.reason = `runsc probe failed (exit ${String(exit.exitCode)}${exit.hardTimedOut === true ? ', timed out' : ''}): ${Buffer.concat(stderr).toString('utf8').slice(-500)}`;
      return false;
    }
    return true;
  }

  launch(spec: SandboxLaunchSpec): SandboxedProcess {
    const runscPath = this.runscPath ?? 'runsc';
    const id = spec.id ?? newSandboxId();
    const limits = spec.limits ?? {};
    const cgroup = TaskCgroup.create(id, limits.pids === undefined ? limits : { ...limits, pids: limits.pids + gvisorPidsOverhead() });
    const bundleDir = join(this.stateDir, 'bundles', id);
    const runscRoot = join(this.stateDir, 'state');
    mkdirSync(runscRoot, { recursive: true });
    writeOciBundle(bundleDir, spec, cgroup.usable ? cgroup.relativePath : undefined);
    const global = ['--network=none', `--root=${runscRoot}`];
    return startLauncher({
      argv: [runscPath, ...global, 'run', '--bundle', bundleDir, id],
      env: {},
      cgroup,
      cgroupSweepsAllSignals: false,
      hardTimeoutMs: spec.hardTimeoutMs ?? GVISOR_DEFAULT_HARD_TIMEOUT_MS,
      signalTree: async (signal, launcherPid) => {
        // `kill --all` reaches every process inside the sandbox, not just its init.
        const code = await runsc(runscPath, [...global, 'kill', '--all', id, signal.replace(/^SIG/, '')], 5000);
        if (signal === 'SIGKILL' || code !== 0) {
          await runsc(runscPath, [...global, 'delete', '-force', id], 10_000);
          if (signal === 'SIGKILL') signalGroup(launcherPid, 'SIGKILL');
        }
      },
      cleanup: async () => {
        await runsc(runscPath, [...global, 'delete', '-force', id], 10_000);
        rmSync(bundleDir, { recursive: true, force: true });
      },
    });
  }
}
