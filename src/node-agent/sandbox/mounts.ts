/**
 * The read-only runtime a task sees, and how host paths map into a sandbox.
 *
 * Debian merges `/bin`, `/lib`, `/lib64` into `/usr`: those are symlinks, and a
 * sandbox must recreate them as symlinks (binding `/bin` would follow the link and
 * still work, but a fresh root without the link breaks `#!/bin/sh`-style paths).
 * Only a few `/etc` entries are exposed: all of `/etc` would hand the task
 * `/etc/shadow`, which uid 0 can read as its owner even with every capability dropped.
 */
import { existsSync, lstatSync, readlinkSync, statSync } from 'node:fs';
import { isAbsolute, normalize, sep } from 'node:path';
import { SandboxSpecError } from './errors.js';

/** Default size of the private `/tmp` tmpfs, MiB. */
export const DEFAULT_TMPFS_MB = 64;

/** Host paths every task gets read-only (those that exist on the node). */
export const DEFAULT_RUNTIME_PATHS: readonly string[] = [
  '/usr',
  '/bin',
  '/sbin',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/etc/alternatives',
  '/etc/ld.so.cache',
  '/etc/ld.so.conf',
  '/etc/ld.so.conf.d',
  '/etc/localtime',
  '/etc/passwd',
  '/etc/group',
  '/etc/nsswitch.conf',
  '/etc/ssl',
  '/etc/ca-certificates',
  '/etc/mime.types',
];

/** One entry of a sandbox's filesystem, in mount order. */
export type MountEntry =
  | { readonly kind: 'ro-bind' | 'bind'; readonly path: string; readonly isFile: boolean }
  | { readonly kind: 'symlink'; readonly path: string; readonly target: string };

/** True when `child` is `parent` or lies below it. */
export function isWithin(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep);
}

function assertAbsolute(path: string, what: string): string {
  if (!isAbsolute(path)) throw new SandboxSpecError(`${what} must be an absolute path: ${path}`);
  return normalize(path).replace(/\/+$/, '') || '/';
}

/**
 * Orders the mounts of a launch: read-only paths first (symlinks recreated),
 * then writable binds, parents before children so a later bind is never shadowed.
 * Paths that do not exist on the host are dropped (a node without `/lib32`).
 */
export function planMounts(readOnlyPaths: readonly string[], writablePaths: readonly string[]): MountEntry[] {
  const entries: MountEntry[] = [];
  const seen = new Set<string>();
  const add = (raw: string, writable: boolean): void => {
    const path = assertAbsolute(raw, writable ? 'writable path' : 'read-only path');
    if (seen.has(path) || !existsSync(path)) return;
    seen.add(path);
    const link = lstatSync(path);
    if (link.isSymbolicLink() && !writable) {
      entries.push({ kind: 'symlink', path, target: readlinkSync(path) });
      return;
    }
    entries.push({ kind: writable ? 'bind' : 'ro-bind', path, isFile: !statSync(path).isDirectory() });
  };
  for (const path of readOnlyPaths) add(path, false);
  for (const path of writablePaths) add(path, true);
  // Stable sort by depth: `/a` is mounted before `/a/b`, whatever the caller's order.
  return entries
    .map((entry, index) => ({ entry, index, depth: entry.path.split('/').length }))
    .sort((x, y) => x.depth - y.depth || x.index - y.index)
    .map(({ entry }) => entry);
}

/** Throws unless `cwd` lies inside one of the mounted paths. */
export function assertCwdMounted(cwd: string, mounts: readonly MountEntry[]): void {
  const dir = assertAbsolute(cwd, 'cwd');
  if (!mounts.some((m) => m.kind !== 'symlink' && isWithin(dir, m.path))) {
    throw new SandboxSpecError(`cwd ${cwd} is not inside any mounted path`);
  }
}
