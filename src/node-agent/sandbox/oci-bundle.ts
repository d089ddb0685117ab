/**
 * OCI bundle for gVisor's `runsc run`: `config.json` plus a tiny root directory.
 *
 * `runsc do` is not usable: it shows the host filesystem through a throwaway
 * overlay, so a result written inside never reaches the host (GOTCHAS.md). The
 * bundle's root is an empty, read-only directory holding only mount points and the
 * usr-merge symlinks; the task sees nothing but the listed binds (in particular not
 * `/root`, `/home` or the agent's data), each mounted at its own host path.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { assertCwdMounted, DEFAULT_TMPFS_MB, planMounts } from './mounts.js';
import type { SandboxLaunchSpec } from './sandbox.js';

/** The subset of the OCI runtime spec this backend writes. */
export interface OciConfig {
  readonly ociVersion: string;
  readonly process: {
    readonly terminal: boolean;
    readonly user: { readonly uid: number; readonly gid: number };
    readonly args: readonly string[];
    readonly env: readonly string[];
    readonly cwd: string;
    readonly capabilities: Readonly<Record<'bounding' | 'effective' | 'inheritable' | 'permitted' | 'ambient', readonly string[]>>;
    readonly noNewPrivileges: boolean;
    readonly rlimits: readonly { readonly type: string; readonly hard: number; readonly soft: number }[];
  };
  readonly root: { readonly path: string; readonly readonly: boolean };
  readonly hostname: string;
  readonly mounts: readonly { readonly destination: string; readonly type: string; readonly source: string; readonly options?: readonly string[] }[];
  readonly linux: {
    readonly namespaces: readonly { readonly type: string }[];
    readonly cgroupsPath?: string;
  };
}

/** Builds the OCI config for `spec`; `cgroupsPath` is the task cgroup runsc must join. */
export function buildOciConfig(spec: SandboxLaunchSpec, cgroupsPath: string | undefined): OciConfig {
  if (spec.argv.length === 0) throw new Error('empty argv');
  const mounts = planMounts(spec.readOnlyPaths, spec.writablePaths);
  assertCwdMounted(spec.cwd, mounts);
  const tmpfsMb = spec.limits?.tmpfsMb ?? DEFAULT_TMPFS_MB;
  return {
    ociVersion: '1.0.0',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: [...spec.argv],
      env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
      cwd: spec.cwd,
      // No capabilities at all, even inside gVisor's own kernel.
      capabilities: { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] },
      noNewPrivileges: true,
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 4096, soft: 4096 }],
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'computalot-task',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs' },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: [`size=${tmpfsMb}m`, 'mode=1777'] },
      ...mounts.flatMap((entry) =>
        entry.kind === 'symlink' ? [] : [{ destination: entry.path, type: 'bind', source: entry.path, options: ['rbind', entry.kind === 'bind' ? 'rw' : 'ro'] }],
      ),
    ],
    // A fresh network namespace with --network=none: no interfaces but loopback-less lo.
    linux: { namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }], ...(cgroupsPath === undefined ? {} : { cgroupsPath }) },
  };
}

/**
 * Writes `config.json` and `rootfs/` (mount points + symlinks) under `bundleDir`.
 * Mount points under `/tmp` are created too: gVisor mounts its tmpfs first and
 * then needs the directories below it to exist in the lower root.
 */
export function writeOciBundle(bundleDir: string, spec: SandboxLaunchSpec, cgroupsPath: string | undefined): OciConfig {
  const config = buildOciConfig(spec, cgroupsPath);
  const rootfs = join(bundleDir, 'rootfs');
  mkdirSync(rootfs, { recursive: true });
  for (const dir of ['proc', 'dev', 'tmp']) mkdirSync(join(rootfs, dir), { recursive: true });
  for (const entry of planMounts(spec.readOnlyPaths, spec.writablePaths)) {
    const inside = join(rootfs, entry.path);
    if (entry.kind === 'symlink') {
      mkdirSync(dirname(inside), { recursive: true });
      symlinkSync(entry.target, inside);
    } else if (entry.isFile) {
      mkdirSync(dirname(inside), { recursive: true });
      writeFileSync(inside, '');
    } else {
      mkdirSync(inside, { recursive: true });
    }
  }
  writeFileSync(join(bundleDir, 'config.json'), JSON.stringify(config, null, 2));
  return config;
}
