/**
 * `POST /api/v1/projects/:name/push`, minus HTTP: store the body as a blob
 * (≤ 100 MB), list it under the tarball limits, validate the manifest and its
 * references, plan the Dockerfile, then publish the revision at once. Any
 * failure leaves the project as it was and removes the blob.
 */
import type { Readable } from 'node:stream';
import { posix } from 'node:path';
import { BlobTooLargeError, type BlobStore } from '../../store/blobs/index.js';
import { InvalidManifestError, TarballTooLargeError } from '../errors.js';
import { planBuild, type BuildPlan } from '../dockerfile/index.js';
import { checkManifestReferences, dockerfilePathOf, MANIFEST_FILE, parseManifest } from '../manifest/index.js';
import type { ProjectRegistry } from '../registry/project-registry.js';
import type { ActiveRevision, InitState } from '../registry/project-record.js';
import { DEFAULT_TARBALL_LIMITS, listTarball, type TarballDiff, type TarballLimits, type TarballListingWithContent } from '../tarball/index.js';

/** The documented push limit: 100 MB. */
export const MAX_TARBALL_BYTES = 100 * 1024 * 1024;

export interface PushDeps {
  readonly registry: ProjectRegistry;
  readonly blobs: BlobStore;
  readonly limits?: TarballLimits;
  readonly maxTarballBytes?: number;
}

/** The push response body. */
export interface PushResult {
  readonly name: string;
  readonly content_hash: string;
  readonly tarball_sha256: string;
  /** Tarball size in bytes, as uploaded. */
  readonly size: number;
  readonly unpacked_size: number;
  /** Number of regular files in the revision. */
  readonly files: number;
  readonly tarball_diff?: TarballDiff;
  readonly can_accept_new_jobs: boolean;
  readonly ready_for_jobs: boolean;
  readonly init_state: InitState;
  readonly init_status: { readonly init_state: InitState };
  readonly status_message: string;
  readonly next_action: string;
  readonly warnings: string[];
}

/** Validates and publishes `body` as the project's new revision. */
export async function pushProject(deps: PushDeps, accountId: string, name: string, body: Readable): Promise<PushResult> {
  const { registry, blobs } = deps;
  const limits = deps.limits ?? DEFAULT_TARBALL_LIMITS;
  const maxBytes = deps.maxTarballBytes ?? MAX_TARBALL_BYTES;
  // Fail fast (404/409) before reading up to 100 MB.
  registry.assertNotBusy(await registry.get(accountId, name));

  const blob = await blobs.put(body, { maxBytes }).catch((error: unknown) => {
    throw error instanceof BlobTooLargeError ? new TarballTooLargeError(maxBytes) : error;
  });
  try {
    const { revision, warnings } = await validateRevision(blobs, blob.sha256, blob.size, limits);
    const published = await registry.publishRevision(accountId, name, revision);
    const status = registry.status(published.record);
    return {
      name,
      content_hash: revision.content_hash,
      tarball_sha256: revision.tarball_sha256,
      size: revision.size,
      unpacked_size: revision.unpacked_size,
      files: revision.files.length,
      ...(published.tarball_diff === undefined ? {} : { tarball_diff: published.tarball_diff }),
      can_accept_new_jobs: status.can_accept_new_jobs,
      ready_for_jobs: status.ready_for_jobs,
      init_state: status.init_state,
      init_status: { init_state: status.init_state },
      status_message: status.status_message,
      next_action: status.next_action,
      warnings,
    };
  } catch (error) {
    // Same bytes always fail the same way, so no accepted revision can name this blob.
    await blobs.delete(blob.sha256).catch(() => undefined);
    throw error;
  }
}

/** Lists the stored tarball and builds the revision, or throws the first 422. */
async function validateRevision(
  blobs: BlobStore,
  sha256: string,
  size: number,
  limits: TarballLimits,
): Promise<{ revision: ActiveRevision; warnings: string[] }> {
  const listing = await listTarball(await blobs.get(sha256), { limits, capture: (path) => path === MANIFEST_FILE || /dockerfile/i.test(posix.basename(path)) });
  const { manifest, warnings } = parseManifest(listing.captured.get(MANIFEST_FILE));
  const index = {
    files: new Set(listing.files.map((file) => file.path)),
    directories: new Set(listing.directories),
    symlinks: new Set(listing.symlinks.map((link) => link.path)),
  };
  const issues = checkManifestReferences(manifest, index);
  if (issues.length > 0) throw new InvalidManifestError(issues);

  const dockerfile = posix.normalize(dockerfilePathOf(manifest));
  const text = await dockerfileText(blobs, sha256, listing, dockerfile, limits);
  const planned = planBuild({
    file: dockerfile,
    text,
    context: manifest.build.context,
    target: manifest.build.target,
    args: manifest.build.args,
    tarball: index,
  });
  const plan: BuildPlan = planned.plan;
  warnings.push(...planned.warnings);
  if (plan.workdir !== manifest.runtime.workdir.replace(/(.)\/+$/, '$1')) {
    warnings.push(`runtime.workdir "${manifest.runtime.workdir}" differs from the Dockerfile's final WORKDIR "${plan.workdir}"; tasks start in runtime.workdir`);
  }
  const revision: ActiveRevision = {
    content_hash: listing.contentHash,
    tarball_sha256: sha256,
    size,
    unpacked_size: listing.totalBytes,
    pushed_at: new Date().toISOString(),
    manifest,
    build_plan: plan,
    files: listing.files.map((file) => ({ path: file.path, size: file.size, sha256: file.sha256, mode: file.mode })),
  };
  return { revision, warnings };
}

/** The Dockerfile's text: captured on the first pass, or read in a second one when its name did not look like a Dockerfile. */
async function dockerfileText(blobs: BlobStore, sha256: string, listing: TarballListingWithContent, path: string, limits: TarballLimits): Promise<string> {
  const captured = listing.captured.get(path);
  if (captured !== undefined) return captured.toString('utf8');
  const again = await listTarball(await blobs.get(sha256), { limits, capture: (candidate) => candidate === path });
  const text = again.captured.get(path);
  if (text === undefined) throw new InvalidManifestError([{ path: 'build.dockerfile', problem: `"${path}" is larger than 1 MiB` }]);
  return text.toString('utf8');
}
