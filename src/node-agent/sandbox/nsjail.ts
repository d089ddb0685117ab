/**
 * nsjail backend (google/nsjail). Not packaged in Debian bookworm: the argv builder
 * is unit-tested everywhere, live launches run only where the binary exists.
 *
 * nsjail does most of the work itself: fresh namespaces (user, mount, pid, net,
 * ipc, uts, cgroup), an empty root with only the `-R`/`-B` mounts, `--iface_no_lo`
 * (not even loopback), capabilities dropped, environment cleared except `-E`, and
 * its own cgroup limits. We still place the launcher in our task cgroup so OOM
 * detection and tree kill work the same way as for the other backends.
 */
import { TaskCgroup } from './cgroups.js';
import { newSandboxId, startLauncher } from './launcher.js';
import { assertCwdMounted, DEFAULT_TMPFS_MB, planMounts } from './mounts.js';
import { ProbedAvailability, findOnPath, runProbe } from './probe.js';
import { descendants, signalPids } from './process-tree.js';
import type { SandboxBackend, SandboxedProcess, SandboxLaunchSpec } from './sandbox.js';

/** Builds nsjail's argv for `spec` (without the cgroup wrapper). */
export function buildNsjailArgv(spec: SandboxLaunchSpec, nsjailPath = 'nsjail'): string[] {
  if (spec.argv.length === 0) throw new Error('empty argv');
  const mounts = planMounts(spec.readOnlyPaths, spec.writablePaths);
  assertCwdMounted(spec.cwd, mounts);
  const limits = spec.limits ?? {};
  const args = [
    nsjailPath,
    '-Mo', // run once, in this process's foreground
    '--really_quiet',
    '--iface_no_lo', // network namespace without even loopback
    // nsjail's default rlimits (1 MiB files, 32 fds, 600 s CPU) would break real work;
    // memory is a cgroup limit because address space is not memory (numpy maps GiBs).
    '--rlimit_as',
    'max',
    '--rlimit_cpu',
    'max',
    '--rlimit_fsize',
    'max',
    '--rlimit_nofile',
    '4096',
    '--rlimit_nproc',
    'max',
    '--time_limit',
    '0', // the runner owns timeouts
    '--cwd',
    spec.cwd,
  ];
  if (limits.memoryMb !== undefined) args.push('--cgroup_mem_max', String(Math.floor(limits.memoryMb * 1024 * 1024)));
  if (limits.pids !== undefined) args.push('--cgroup_pids_max', String(limits.pids));
  if (limits.cpu !== undefined) args.push('--cgroup_cpu_ms_per_sec', String(Math.round(limits.cpu * 1000)));
  for (const [key, value] of Object.entries(spec.env)) args.push('-E', `${key}=${value}`);
  args.push('--proc_path', '/proc', '-m', `none:/tmp:tmpfs:size=${(limits.tmpfsMb ?? DEFAULT_TMPFS_MB) * 1024 * 1024}`, '-m', 'none:/dev:tmpfs:size=1048576');
  for (const node of ['/dev/null', '/dev/zero', '/dev/urandom', '/dev/random']) args.push('-B', node);
  for (const entry of mounts) {
    if (entry.kind === 'symlink') args.push('-s', `${entry.target}:${entry.path}`);
    else args.push(entry.kind === 'bind' ? '-B' : '-R', entry.path);
  }
  args.push('--', ...spec.argv);
  return args;
}

/** The nsjail {@link SandboxBackend}. */
export class NsjailBackend extends ProbedAvailability implements SandboxBackend {
  readonly kind = 'nsjail' as const;

  constructor(private readonly nsjailPath: string | undefined = findOnPath('nsjail')) {
    super();
  }

  protected async probe(): Promise<boolean> {
    if (this.nsjailPath === undefined) {
      this.reason = 'nsjail not found on PATH (not packaged in Debian bookworm)';
      return false;
    }
    const result = await runProbe([this.nsjailPath, '-Mo', '--really_quiet', '-R', '/usr', '-s', 'usr/bin:/bin', '-s', 'usr/lib:/lib', '--', '/usr/bin/true'], 10_000);
    if (!result.ok) this.reason = `nsjail probe failed: ${result.output || `exit ${String(result.exitCode)}`}`;
    return result.ok;
  }

  launch(spec: SandboxLaunchSpec): SandboxedProcess {
    const argv = buildNsjailArgv(spec, this.nsjailPath ?? 'nsjail');
    const cgroup = TaskCgroup.create(spec.id ?? newSandboxId(), spec.limits ?? {});
    return startLauncher({
      argv: cgroup.wrap(argv),
      env: {},
      cgroup,
      cgroupSweepsAllSignals: false,
      ...(spec.hardTimeoutMs === undefined ? {} : { hardTimeoutMs: spec.hardTimeoutMs }),
      signalTree: async (signal, launcherPid) => {
        // nsjail forwards nothing; signal the jailed processes, and nsjail on KILL.
        signalPids(
          descendants(launcherPid).map((p) => p.pid),
          signal,
        );
        if (signal === 'SIGKILL') signalPids([launcherPid], signal);
      },
    });
  }
}
