/**
 * Turns an archive entry's path into a safe relative path, or says why not.
 * Rules: no NUL, not absolute (POSIX or drive letter), no `..` component,
 * bounded length. `.` and empty components are dropped, so `./a//b` is `a/b`.
 */

/** A checked path: `''` for the archive root, otherwise `a/b/c` with no `.`/`..`. */
export type SafeRelativePath = string;

/** Result of {@link normalizeEntryPath}: the path or the reason it was refused. */
export type EntryPathResult = { readonly ok: true; readonly path: SafeRelativePath } | { readonly ok: false; readonly reason: string };

/** Checks and normalizes one entry path (or a hardlink's target, which tar also stores archive-relative). */
export function normalizeEntryPath(raw: string, maxPathBytes: number): EntryPathResult {
  if (raw.includes('\0')) return { ok: false, reason: 'path contains a NUL byte' };
  if (Buffer.byteLength(raw) > maxPathBytes) return { ok: false, reason: `path longer than ${maxPathBytes} bytes` };
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw)) return { ok: false, reason: 'absolute path' };
  const parts: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') return { ok: false, reason: "path contains '..'" };
    if (Buffer.byteLength(part) > 255) return { ok: false, reason: 'path component longer than 255 bytes' };
    parts.push(part);
  }
  return { ok: true, path: parts.join('/') };
}

/** The parent of a safe path (`''` for top-level entries). */
export function parentOf(path: SafeRelativePath): SafeRelativePath {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

/** Every proper ancestor of `path`, shallowest first: `a/b/c` → `a`, `a/b`. */
export function ancestorsOf(path: SafeRelativePath): SafeRelativePath[] {
  const parts = path.split('/');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i += 1) out.push(parts.slice(0, i).join('/'));
  return out;
}
