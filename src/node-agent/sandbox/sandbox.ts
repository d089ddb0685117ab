/**
 * The one typed interface every sandbox backend implements (ARCHITECTURE.md §6).
 *
 * A backend turns a {@link SandboxLaunchSpec} — what to run, which host paths the
 * task may see, its complete environment and its limits — into a running
 * {@link SandboxedProcess}. The runner protocol (`../runner/`) sits on top and
 * never cares which backend it got.
 *
 * Paths inside the sandbox are the same as on the host: a directory is mounted at
 * its own path. That keeps protocol paths (`COMPUTALOT_TASK_RESULT`, …), venv
 * shebangs and `pyvenv.cfg` homes valid on both sides without translation.
 */
import type { Readable } from 'node:stream';

/** The backends this agent knows, strongest isolation first. */
export const SANDBOX_KINDS = ['gvisor', 'nsjail', 'bwrap', 'process'] as const;
export type SandboxKind = (typeof SANDBOX_KINDS)[number];

/** Resource limits; each is optional and enforced through cgroups where the host allows. */
export interface SandboxLimits {
  /** Memory (RSS + page cache of the task tree), MiB. */
  readonly memoryMb?: number;
  /** Maximum live processes + threads of the task tree. */
  readonly pids?: number;
  /** CPU cores as a CFS quota (1.5 = 150 ms per 100 ms period). */
  readonly cpu?: number;
  /** Size of the private `/tmp` tmpfs, MiB; default 64. */
  readonly tmpfsMb?: number;
}

/** Which of the requested limits the host actually enforces for this launch. */
export interface EnforcedLimits {
  readonly memory: boolean;
  readonly pids: boolean;
  readonly cpu: boolean;
}

/** What to run and what it may see. */
export interface SandboxLaunchSpec {
  /** Resolved executable path (absolute, real) followed by its arguments. */
  readonly argv: readonly string[];
  /** Working directory; must be inside one of the mounted paths. */
  readonly cwd: string;
  /** The COMPLETE environment of the task: nothing is inherited from the agent. */
  readonly env: Readonly<Record<string, string>>;
  /** Host paths visible read-only (runtime: /usr, interpreter prefixes, the project tree). */
  readonly readOnlyPaths: readonly string[];
  /** Host directories visible read-write (attempt work dir, scratch, artifacts, result dir). */
  readonly writablePaths: readonly string[];
  readonly limits?: SandboxLimits;
  /** Network access; `none` (no interfaces, not even loopback) is the only mode. */
  readonly network?: 'none';
  /**
   * Backstop: the backend SIGKILLs the whole tree after this many ms no matter what.
   * The runner's own timeout (TERM, grace, KILL) fires earlier; this catches a
   * launcher that hangs before the task even starts (gVisor on KVM does).
   */
  readonly hardTimeoutMs?: number;
  /** Stable id used for cgroup and container names; defaults to a random one. */
  readonly id?: string;
}

/** How a sandboxed process ended. */
export interface SandboxExit {
  /** Exit code of the task (128+N when a signal killed it inside a launcher), or null. */
  readonly exitCode: number | null;
  /** Signal that killed the launcher itself, if any. */
  readonly signal: string | null;
  /** True when the kernel's OOM killer fired in the task's cgroup. */
  readonly oomKilled?: boolean;
  /** True when the {@link SandboxLaunchSpec.hardTimeoutMs} backstop fired. */
  readonly hardTimedOut?: boolean;
  /** Set when the launcher itself could not be started (binary missing, EACCES). */
  readonly launchError?: string;
}

/** A running task tree. */
export interface SandboxedProcess {
  /** Host pid of the launcher (bwrap, runsc, nsjail, or the task itself). */
  readonly pid: number;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Which limits are really enforced (cgroups may be unavailable). */
  readonly enforced: EnforcedLimits;
  /** Resolves once the tree has ended and the sandbox's resources are released. */
  wait(): Promise<SandboxExit>;
  /** Sends `signal` to every process of the task tree, detached grandchildren included. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** One sandbox implementation. */
export interface SandboxBackend {
  readonly kind: SandboxKind;
  /** True when this backend can run tasks on this host; probed once and cached. */
  available(): Promise<boolean>;
  /** Why {@link available} said false (for logs and the skip reason in tests). */
  unavailableReason(): string | undefined;
  launch(spec: SandboxLaunchSpec): SandboxedProcess;
}
