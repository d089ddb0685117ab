import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { PrepareProject } from '../../gen/computalot/agent/v1/agent.js';
import { dockerfilePathOf, extractTarball, MANIFEST_FILE, parseManifest, planBuild, type ProjectManifest, type TarballListing } from '../../projects/index.js';
import type { SandboxBackend } from '../sandbox/index.js';
import { ALLOWED_EXECUTABLES, ExecutableResolver, type AllowedExecutable } from '../runner/index.js';
import type { ProjectPreparationReport, ProjectPreparer } from '../project-preparer.js';
import { resolveOnPath, runSetupCommand, type SetupCommand } from './setup-command.js';

export interface ProjectCacheOptions {
  /** Prepared revisions live under `<workRoot>/projects/<content hash>/`. */
  readonly workRoot: string;
  /** Streams a revision's tarball (from the controller, or straight from a shared blob dir). */
  readonly openTarball: (tarballRef: string) => Promise<Readable>;
  /** Sandbox that runs Dockerfile `RUN` steps, `runtime.init` and `validation` commands. */
  readonly sandbox: () => Promise<SandboxBackend>;
  readonly logger: Logger;
  /** Upper bound for the whole preparation, seconds (the project's `setup_timeout_s`). Default 600. */
  readonly setupTimeoutS?: number;
}

const READY_MARKER = 'ready.json';

/**
 * The node's cache of prepared project revisions, keyed by content hash
 * (ARCHITECTURE.md §7). Preparing = extract the tarball with the safe
 * extractor, run the Dockerfile's `RUN` steps and `runtime.init` commands in
 * the sandbox, then the manifest's `validation` checks; a marker file written
 * last says "ready", so a crash mid-way is re-prepared from scratch.
 */
export class ProjectCache implements ProjectPreparer {
  private readonly inflight = new Map<string, Promise<ProjectPreparationReport>>();

  constructor(private readonly options: ProjectCacheOptions) {}

  /** Directory holding the revision's files; valid once prepared. */
  treeOf(contentHash: string): string {
    return join(this.revisionDir(contentHash), 'tree');
  }

  async prepare(request: PrepareProject, report: (update: ProjectPreparationReport) => void, signal: AbortSignal): Promise<ProjectPreparationReport> {
    const tarballRef = request.source?.$case === 'tarballUrl' ? request.source.value : request.source?.$case === 'tarballArtifactId' ? request.source.value : '';
    return this.ensure(request.contentHash, tarballRef, report, signal);
  }

  /** The prepared tree for a dispatch, preparing it on demand; undefined when preparation failed. */
  async resolve(contentHash: string, tarballRef: string, signal?: AbortSignal): Promise<string | undefined> {
    const outcome = await this.ensure(contentHash, tarballRef, () => undefined, signal ?? new AbortController().signal);
    return outcome.state === 'ready' ? this.treeOf(contentHash) : undefined;
  }

  private ensure(contentHash: string, tarballRef: string, report: (update: ProjectPreparationReport) => void, signal: AbortSignal): Promise<ProjectPreparationReport> {
    if (!/^[0-9a-f]{16,128}$/.test(contentHash)) return Promise.resolve({ state: 'failed', message: `invalid content hash "${contentHash}"` });
    let running = this.inflight.get(contentHash);
    if (!running) {
      running = this.prepareOnce(contentHash, tarballRef, report, signal).finally(() => this.inflight.delete(contentHash));
      this.inflight.set(contentHash, running);
    }
    return running;
  }

  private async prepareOnce(contentHash: string, tarballRef: string, report: (update: ProjectPreparationReport) => void, signal: AbortSignal): Promise<ProjectPreparationReport> {
    const dir = this.revisionDir(contentHash);
    if (await exists(join(dir, READY_MARKER))) return { state: 'ready', message: '' };
    if (!tarballRef) return { state: 'failed', message: 'no tarball location for this revision' };
    const log = this.options.logger.child({ contentHash });
    try {
      report({ state: 'initializing', message: 'extracting tarball' });
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      const tree = this.treeOf(contentHash);
      const listing = await extractTarball(await this.options.openTarball(tarballRef), tree);
      const manifest = parseManifest(await readFile(join(tree, MANIFEST_FILE)).catch(() => undefined)).manifest;
      const deadline = Date.now() + (this.options.setupTimeoutS ?? 600) * 1000;
      for (const command of await setupCommands(tree, manifest, listing)) {
        if (signal.aborted) return { state: 'failed', message: 'preparation cancelled' };
        report({ state: 'initializing', message: command.label });
        const failure = await runSetupCommand(await this.options.sandbox(), tree, manifest.runtime.workdir, command, deadline);
        if (failure) return { state: 'failed', message: failure };
      }
      const missing = await missingValidationFiles(tree, manifest);
      if (missing.length > 0) return { state: 'failed', message: `validation.files missing after setup: ${missing.join(', ')}` };
      const unresolved = await unresolvedExecutables(tree, manifest);
      if (unresolved.length > 0) return { state: 'failed', message: `validation.executables not found on this node: ${unresolved.join(', ')}` };
      await writeFile(join(dir, READY_MARKER), JSON.stringify({ contentHash, preparedAt: new Date().toISOString() }));
      log.info('project revision prepared');
      return { state: 'ready', message: '' };
    } catch (error) {
      log.warn({ err: error }, 'project preparation failed');
      return { state: 'failed', message: error instanceof Error ? error.message : String(error) };
    }
  }

  private revisionDir(contentHash: string): string {
    return join(this.options.workRoot, 'projects', contentHash);
  }
}

/** Dockerfile `RUN` steps, then `runtime.init.commands`, then `validation.commands`, in that order. */
async function setupCommands(tree: string, manifest: ProjectManifest, listing: TarballListing): Promise<SetupCommand[]> {
  const file = dockerfilePathOf(manifest);
  const dockerfile = await readFile(join(tree, file), 'utf8').catch(() => undefined);
  const commands: SetupCommand[] = [];
  if (dockerfile !== undefined) {
    const tarball = {
      files: new Set(listing.files.map((f) => f.path)),
      directories: new Set(listing.directories),
      symlinks: new Set(listing.symlinks.map((l) => l.path)),
    };
    const { plan } = planBuild({ file, text: dockerfile, context: manifest.build.context, target: manifest.build.target, args: manifest.build.args, tarball });
    for (const step of plan.steps) {
      if (step.kind === 'run') commands.push({ label: `Dockerfile line ${step.line}: RUN`, argv: step.argv, workdir: step.workdir, env: step.env });
    }
  }
  manifest.runtime.init.commands.forEach((command, i) =>
    commands.push({ label: command.label ?? `runtime.init.commands[${i}]`, argv: command.command, workdir: join(manifest.runtime.workdir, command.cwd ?? '.'), env: command.env ?? {} }),
  );
  manifest.validation.commands.forEach((command, i) =>
    commands.push({ label: command.label ?? `validation.commands[${i}]`, argv: command.command, workdir: manifest.runtime.workdir, env: {} }),
  );
  return commands;
}

async function missingValidationFiles(tree: string, manifest: ProjectManifest): Promise<string[]> {
  const checks = await Promise.all(manifest.validation.files.map(async (file) => ((await exists(join(tree, file))) ? null : file)));
  return checks.filter((file): file is string => file !== null);
}

/** Runner executables resolve as tasks will run them (`python` → python3 where only that exists). */
async function unresolvedExecutables(tree: string, manifest: ProjectManifest): Promise<string[]> {
  const resolver = new ExecutableResolver();
  const found = async (name: string) => {
    if ((ALLOWED_EXECUTABLES as readonly string[]).includes(name)) {
      return resolver.resolve(name as AllowedExecutable, tree).then(
        () => true,
        () => false,
      );
    }
    return (await resolveOnPath(name, tree)) !== undefined;
  };
  const checks = await Promise.all(manifest.validation.executables.map(async (name) => ((await found(name)) ? null : name)));
  return checks.filter((name): name is string => name !== null);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
