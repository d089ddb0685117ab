/**
 * The shape of an archive as its entries arrive, checked entry by entry:
 * nothing may be written through a symlink, a path may not be both a file and
 * a directory, and (once the whole archive is known) every symlink must
 * resolve inside the tree. This is what keeps extraction inside its directory
 * no matter how the entries are ordered or chained.
 */
import { ancestorsOf, parentOf, type SafeRelativePath } from './entry-path.js';

/** A regular file (hardlinks are recorded as files with their target's content). */
export interface TreeFile {
  readonly kind: 'file';
  /** Normalized permission bits: 0o755 when any execute bit was set, else 0o644. */
  readonly mode: number;
  size: number;
  sha256: string;
}
export interface TreeSymlink {
  readonly kind: 'symlink';
  readonly target: string;
}
export interface TreeDirectory {
  readonly kind: 'dir';
}
export type TreeNode = TreeFile | TreeSymlink | TreeDirectory;

/** Symlink hops followed before a chain counts as a loop (Linux uses 40 too). */
const MAX_SYMLINK_HOPS = 40;

/** Why an entry cannot join the tree; `null` when it can. */
export type TreeRejection = string | null;

/** Normalized file mode: executables stay executable, nothing else survives (no setuid, no group/other write). */
export function normalizeFileMode(mode: number | undefined): number {
  return (mode ?? 0o644) & 0o111 ? 0o755 : 0o644;
}

/** The archive's entries so far, keyed by normalized path; directories implied by deeper paths are added. */
export class TarTree {
  readonly nodes = new Map<SafeRelativePath, TreeNode>();

  /** Checks that `path` can be created: parents are directories (never symlinks or files), path not taken. */
  check(path: SafeRelativePath, kind: TreeNode['kind']): TreeRejection {
    for (const ancestor of ancestorsOf(path)) {
      const node = this.nodes.get(ancestor);
      if (node?.kind === 'symlink') return `path passes through symlink "${ancestor}"`;
      if (node?.kind === 'file') return `path passes through file "${ancestor}"`;
    }
    const existing = this.nodes.get(path);
    if (existing === undefined) return null;
    if (existing.kind === 'dir' && kind === 'dir') return null;
    return `duplicate entry (already a ${existing.kind === 'dir' ? 'directory' : existing.kind})`;
  }

  /** Records `node` at `path` plus its implied parent directories. Call {@link check} first. */
  add(path: SafeRelativePath, node: TreeNode): void {
    for (const ancestor of ancestorsOf(path)) if (!this.nodes.has(ancestor)) this.nodes.set(ancestor, { kind: 'dir' });
    this.nodes.set(path, node);
  }

  /**
   * Follows `linkPath`'s target through every symlink of the tree, component by
   * component, the way the kernel would. A purely lexical check is not enough:
   * `a -> .` plus `b -> a/..` looks inside lexically but resolves above the root.
   * Dangling targets inside the tree are allowed.
   */
  symlinkEscape(linkPath: SafeRelativePath): TreeRejection {
    const start = this.nodes.get(linkPath);
    if (start?.kind !== 'symlink') return null;
    const current = parentOf(linkPath) === '' ? [] : parentOf(linkPath).split('/');
    let queue = start.target.split('/');
    let hops = 0;
    while (queue.length > 0) {
      const [part, ...rest] = queue;
      queue = rest;
      if (part === undefined || part === '' || part === '.') continue;
      if (part === '..') {
        if (current.length === 0) return `symlink target "${start.target}" resolves outside the project`;
        current.pop();
        continue;
      }
      const candidate = [...current, part].join('/');
      const node = this.nodes.get(candidate);
      if (node?.kind === 'symlink') {
        hops += 1;
        if (hops > MAX_SYMLINK_HOPS) return `symlink target "${start.target}" loops`;
        if (node.target.startsWith('/')) return `symlink target "${start.target}" resolves outside the project (through "${candidate}")`;
        // The link's own target is relative to the directory it sits in, which is `current`.
        queue = [...node.target.split('/'), ...queue];
        continue;
      }
      current.push(part);
    }
    return null;
  }

  /** The first symlink that escapes, or null. */
  findEscapingSymlink(): { readonly path: SafeRelativePath; readonly reason: string } | null {
    for (const [path, node] of this.nodes) {
      if (node.kind !== 'symlink') continue;
      const reason = this.symlinkEscape(path);
      if (reason !== null) return { path, reason };
    }
    return null;
  }
}
