/**
 * PrepareProject handling on the agent: one preparation per revision at a time,
 * `initializing` reported at once, the final state when the preparer is done.
 * A report that cannot be sent (no stream) is kept — latest per revision — and
 * sent on the next stream, so the controller's per-node picture converges.
 */
import type { AgentMessage, PrepareProject, ProjectPrepared } from '../gen/computalot/agent/v1/agent.js';
import type { Logger } from '../shared/logger.js';
import type { ProjectPreparationReport, ProjectPreparer } from './project-preparer.js';

/** Options of {@link ProjectPreparations}. */
export interface ProjectPreparationsOptions {
  readonly preparer: ProjectPreparer;
  /** Sends on the current stream; false when there is none. */
  readonly send: (message: AgentMessage) => boolean;
  readonly logger: Logger;
}

/** Runs and reports project preparations. */
export class ProjectPreparations {
  private readonly options: ProjectPreparationsOptions;
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly unsent = new Map<string, ProjectPrepared>();
  private readonly abort = new AbortController();

  constructor(options: ProjectPreparationsOptions) {
    this.options = options;
  }

  /** Starts preparing, unless the same revision is already being prepared (that run will report). */
  handle(request: PrepareProject): void {
    const key = `${request.project}@${request.contentHash}`;
    if (this.inFlight.has(key)) return;
    const run = this.prepare(request).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, run);
  }

  /** Sends reports that found no stream; call after each registration. */
  resendUnsent(): void {
    for (const [key, message] of [...this.unsent]) {
      if (!this.options.send({ kind: { $case: 'projectPrepared', value: message } })) return;
      this.unsent.delete(key);
    }
  }

  /** Aborts running preparations and waits for them to settle. */
  async stop(): Promise<void> {
    this.abort.abort(new Error('agent stopping'));
    await Promise.allSettled([...this.inFlight.values()]);
  }

  private async prepare(request: PrepareProject): Promise<void> {
    const report = (update: ProjectPreparationReport): void => this.report(request, update);
    report({ state: 'initializing', message: '' });
    let final: ProjectPreparationReport;
    try {
      final = await this.options.preparer.prepare(request, report, this.abort.signal);
    } catch (error) {
      this.options.logger.error({ err: error, project: request.project, contentHash: request.contentHash }, 'project preparation failed');
      final = { state: 'failed', message: error instanceof Error ? error.message : String(error) };
    }
    report(final);
  }

  private report(request: PrepareProject, update: ProjectPreparationReport): void {
    const message: ProjectPrepared = { project: request.project, contentHash: request.contentHash, state: update.state, message: update.message };
    const key = `${request.project}@${request.contentHash}`;
    if (this.options.send({ kind: { $case: 'projectPrepared', value: message } })) this.unsent.delete(key);
    else this.unsent.set(key, message);
  }
}
