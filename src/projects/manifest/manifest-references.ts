/**
 * Push-time reference checks: everything the manifest names inside the
 * tarball (files, working directories, build inputs) and every named cache
 * mount it uses must exist, or the push is refused before the revision is
 * accepted. Paths inside the image that the tarball cannot know about
 * (absolute paths outside `runtime.workdir`) are left to init-time validation.
 */
import { normalizeEntryPath } from '../tarball/entry-path.js';
import type { ManifestIssue } from '../errors.js';
import type { ProjectManifest } from './manifest-schema.js';

/** What the checks need to know about the tarball. */
export interface TarballIndex {
  readonly files: ReadonlySet<string>;
  readonly directories: ReadonlySet<string>;
  readonly symlinks: ReadonlySet<string>;
}

/** The Dockerfile path the build uses: `build.dockerfile`, else `Dockerfile` at the root. */
export function dockerfilePathOf(manifest: ProjectManifest): string {
  return manifest.build.dockerfile ?? 'Dockerfile';
}

/** Every broken reference, in manifest order; empty when all resolve. */
export function checkManifestReferences(manifest: ProjectManifest, tarball: TarballIndex): ManifestIssue[] {
  const issues: ManifestIssue[] = [];
  const workdir = manifest.runtime.workdir.replace(/\/+$/, '');
  const exists = (path: string) => path === '' || tarball.files.has(path) || tarball.directories.has(path) || tarball.symlinks.has(path);
  const isDir = (path: string) => path === '' || tarball.directories.has(path) || tarball.symlinks.has(path);

  /** Maps a manifest path to a tarball path: relative as is, absolute only when under the workdir; null = not checkable. */
  const inTarball = (at: string, value: string): string | null => {
    let relative = value;
    if (value.startsWith('/')) {
      if (value !== workdir && !value.startsWith(`${workdir}/`)) return null;
      relative = value.slice(workdir.length);
    }
    const normalized = normalizeEntryPath(relative.replace(/^\/+/, ''), 4096);
    if (!normalized.ok) {
      issues.push({ path: at, problem: `"${value}" is not a path inside the project (${normalized.reason})` });
      return null;
    }
    return normalized.path;
  };

  const { build } = manifest;
  if (build.dockerfile === undefined) {
    if (!tarball.files.has('Dockerfile')) issues.push({ path: 'build.dockerfile', problem: 'not set and there is no Dockerfile at the tarball root' });
  } else if (build.dockerfile.startsWith('/')) {
    issues.push({ path: 'build.dockerfile', problem: `"${build.dockerfile}" must be relative to the tarball root` });
  } else {
    const path = inTarball('build.dockerfile', build.dockerfile);
    if (path !== null && !tarball.files.has(path)) issues.push({ path: 'build.dockerfile', problem: `"${build.dockerfile}" is not in the tarball` });
  }
  if (build.context.startsWith('/')) {
    issues.push({ path: 'build.context', problem: `"${build.context}" must be relative to the tarball root` });
  } else {
    const context = inTarball('build.context', build.context);
    if (context !== null && !isDir(context)) issues.push({ path: 'build.context', problem: `"${build.context}" is not a directory in the tarball` });
  }

  manifest.validation.files.forEach((file, index) => {
    const at = `validation.files[${index}]`;
    const path = inTarball(at, file);
    if (path !== null && !exists(path)) issues.push({ path: at, problem: `"${file}" is not in the tarball` });
  });
  const checkCwd = (at: string, cwd: string | undefined) => {
    if (cwd === undefined) return;
    const path = inTarball(at, cwd);
    if (path !== null && !isDir(path)) issues.push({ path: at, problem: `working directory "${cwd}" is not a directory in the tarball` });
  };

  const cacheNames = new Set(manifest.cache_mounts.map((mount) => mount.name));
  const checkCaches = (at: string, names: readonly string[] | undefined) =>
    names?.forEach((name, index) => {
      if (!cacheNames.has(name)) issues.push({ path: `${at}[${index}]`, problem: `cache mount "${name}" is not declared in cache_mounts` });
    });

  manifest.runtime.init.commands.forEach((command, index) => {
    checkCwd(`runtime.init.commands[${index}].cwd`, command.cwd);
    checkCaches(`runtime.init.commands[${index}].cache_mounts`, command.cache_mounts);
  });
  manifest.runtime.services.forEach((service, index) => {
    checkCwd(`runtime.services[${index}].cwd`, service.cwd);
    checkCaches(`runtime.services[${index}].cache_mounts`, service.cache_mounts);
  });
  manifest.data_sources.forEach((source, index) => {
    if (source.cache_mount !== undefined && !cacheNames.has(source.cache_mount)) {
      issues.push({ path: `data_sources[${index}].cache_mount`, problem: `cache mount "${source.cache_mount}" is not declared in cache_mounts` });
    }
  });
  return issues;
}
