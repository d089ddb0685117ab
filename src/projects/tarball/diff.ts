/** What changed between two revisions' file lists (the push response's `tarball_diff`). */

/** A file as revisions record it. */
export interface FileDigest {
  readonly path: string;
  readonly sha256: string;
}

/** Sorted path lists; a file whose content hash differs counts as changed. */
export interface TarballDiff {
  readonly added_files: string[];
  readonly removed_files: string[];
  readonly changed_files: string[];
}

/** Compares two file lists by path and per-file sha256. */
export function diffFileLists(previous: readonly FileDigest[], next: readonly FileDigest[]): TarballDiff {
  const before = new Map(previous.map((file) => [file.path, file.sha256]));
  const after = new Map(next.map((file) => [file.path, file.sha256]));
  const added: string[] = [];
  const changed: string[] = [];
  for (const [path, sha] of after) {
    const old = before.get(path);
    if (old === undefined) added.push(path);
    else if (old !== sha) changed.push(path);
  }
  const removed = [...before.keys()].filter((path) => !after.has(path));
  return { added_files: added.sort(), removed_files: removed.sort(), changed_files: changed.sort() };
}
