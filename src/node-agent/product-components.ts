import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Logger } from 'pino';
import { createSandboxBackends, selectSandboxBackend, type SandboxBackend } from './sandbox/index.js';
import { ProjectCache } from './projects/project-cache.js';
import { RunnerTaskExecutor } from './runner-task-executor.js';
import type { ProjectPreparer } from './project-preparer.js';
import type { TaskExecutor } from './task-executor.js';

export interface ProductComponentsOptions {
  readonly workDir: string;
  readonly allowUnsandboxed: boolean;
  readonly logger: Logger;
  /** Sent as `Authorization: Bearer …` when fetching tarballs from a controller. */
  readonly agentToken?: string | undefined;
  /** Where a tarball reference of the form `blob:<sha256>` resolves locally (same-host installs). */
  readonly localBlobPath?: (sha256: string) => string;
  /**
   * The sandbox kinds this node advertises (its `sandbox` setting resolved):
   * tasks and setup commands run in the strongest of these only. Default: every
   * backend, strongest available first (`sandbox: auto`).
   */
  readonly sandboxKinds?: readonly string[];
}

/**
 * The real executor and preparer of a node agent: the runner protocol in the
 * strongest available sandbox, over the node's cache of prepared revisions.
 */
export function productAgentComponents(options: ProductComponentsOptions): { executor: TaskExecutor; preparer: ProjectPreparer & ProjectCache } {
  const allBackends = createSandboxBackends({ warn: (message: string) => options.logger.warn(message) });
  // An agent set to `sandbox: bwrap` advertises bwrap alone; running its tasks in a stronger backend it
  // happens to have (gVisor) would ignore the operator's choice.
  const backends = options.sandboxKinds === undefined ? allBackends : allBackends.filter((backend) => options.sandboxKinds?.includes(backend.kind) === true);
  const sandbox = async (): Promise<SandboxBackend> => (await selectSandboxBackend({ backends, allowUnsandboxed: options.allowUnsandboxed })).backend;
  const cache = new ProjectCache({ workRoot: options.workDir, sandbox, logger: options.logger, openTarball: (ref) => openTarball(ref, options) });
  const executor = new RunnerTaskExecutor({
    workRoot: options.workDir,
    allowUnsandboxed: options.allowUnsandboxed,
    logger: options.logger,
    backends,
    resolveProjectDir: (dispatch, signal) => cache.resolve(dispatch.contentHash, dispatch.tarballUrl, signal),
  });
  return { executor, preparer: cache };
}

async function openTarball(ref: string, options: ProductComponentsOptions): Promise<Readable> {
  if (ref.startsWith('blob:') && options.localBlobPath) return createReadStream(options.localBlobPath(ref.slice('blob:'.length)));
  if (!/^https?:\/\//.test(ref)) throw new Error(`cannot fetch project tarball "${ref}" on this node`);
  const response = await fetch(ref, { headers: options.agentToken ? { authorization: `Bearer ${options.agentToken}` } : {} });
  if (!response.ok || !response.body) throw new Error(`fetching ${ref} answered ${response.status}`);
  return Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
}
