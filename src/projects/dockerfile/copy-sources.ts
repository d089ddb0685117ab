/** Resolves COPY/ADD sources against the tarball, so a missing build input fails the push. */
import { posix } from 'node:path';
import type { TarballIndex } from '../manifest/manifest-references.js';

/** A source that resolved, or why it did not. */
export type SourceResult = { readonly ok: true; readonly paths: string[] } | { readonly ok: false; readonly problem: string };

/**
 * Tarball paths matched by `source`, which is relative to `context` (`.` for the root).
 * Wildcards `*`, `?` and `[...]` match within one path component, as in Docker.
 */
export function resolveCopySource(source: string, context: string, tarball: TarballIndex): SourceResult {
  const joined = posix.normalize(posix.join(context, source.replace(/^\/+/, '')));
  if (joined === '..' || joined.startsWith('../')) return { ok: false, problem: `source "${source}" is outside the build context` };
  const relative = joined === '.' ? '' : joined.replace(/\/+$/, '');
  const contextRoot = posix.normalize(context) === '.' ? '' : posix.normalize(context).replace(/\/+$/, '');
  if (contextRoot !== '' && relative !== contextRoot && !relative.startsWith(`${contextRoot}/`)) {
    return { ok: false, problem: `source "${source}" is outside the build context` };
  }
  if (!/[*?[]/.test(relative)) {
    const present = relative === '' || tarball.files.has(relative) || tarball.directories.has(relative) || tarball.symlinks.has(relative);
    return present ? { ok: true, paths: [relative === '' ? '.' : relative] } : { ok: false, problem: `source "${source}" is not in the tarball` };
  }
  const pattern = globToRegExp(relative);
  const matches = [...tarball.files, ...tarball.directories, ...tarball.symlinks].filter((path) => pattern.test(path)).sort();
  return matches.length > 0 ? { ok: true, paths: matches } : { ok: false, problem: `source "${source}" matches nothing in the tarball` };
}

function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i += 1) {
    const ch = glob[i] ?? '';
    if (ch === '*') out += '[^/]*';
    else if (ch === '?') out += '[^/]';
    else if (ch === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) out += '\\[';
      else {
        out += `[${glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else out += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}
