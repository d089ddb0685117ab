/**
 * Durable `callback_url` delivery. The job's `job.terminal` effect only
 * *enqueues* (a KV record plus a due-queue entry, ids derived from the effect
 * id so a replayed effect enqueues nothing new) and returns: the outbox relay
 * never waits on a slow receiver. Every controller runs a dispatch loop that
 * polls the due queue, claims a delivery by CAS on its record, POSTs, and
 * records the outcome; failures are retried with doubling backoff until
 * `1 + retries` attempts, then the record is kept as `failed`.
 *
 * Semantics: at least once. A receiver may see an attempt twice — a
 * controller that dies after the POST and before recording it leaves a claim
 * that runs out and is taken again — so every attempt carries the same
 * `x-computalot-delivery` id to dedupe on. A delivery is lost only if the
 * store loses its record.
 */
import type { Logger } from '../../shared/logger.js';
import type { WebhooksConfig } from '../../shared/config.js';
import type { Store } from '../../store/store.js';
import type { JobTerminalListener, JobTerminalNotice } from '../job-terminal.js';
import { WEBHOOK_DUE_QUEUE, isFinal, readDelivery, webhookKey, type VersionedDelivery, type WebhookDelivery } from './delivery-record.js';
import { claimDelivery, failInterrupted, newDelivery, releaseClaim, settleAttempt, type AttemptResult } from './delivery-transitions.js';
import { postWebhook } from './post-webhook.js';
import { resolveCallbackTarget, systemLookup, type HostLookup } from './resolve-target.js';
import { compileTargetPolicy, type TargetPolicy } from './target-policy.js';
import { buildWebhookBody, deliveryIdOf, webhookHeaders, type ReadModels } from './webhook-body.js';

/** How long delivered and failed records stay readable (and a stuck one lives at most). */
const RECORD_TTL_MS = 30 * 24 * 60 * 60 * 1000;
/** Added to a claim beyond the attempt's own time limits (lookup + POST), for clock and store latency. */
const CLAIM_MARGIN_MS = 5_000;

export interface WebhookDispatcherOptions {
  readonly config: WebhooksConfig;
  readonly store: Store;
  /** Public views of tasks, for the body's `output` (`ControllerNode.readModels`). */
  readonly readModels: ReadModels;
  readonly logger: Logger;
  /** Written into claims, for whoever inspects a record. */
  readonly controllerId: string;
  /** How often the due queue is polled when idle (ms). Default 250. */
  readonly pollIntervalMs?: number;
  /** Attempts in flight at once in this process. Default 16. */
  readonly concurrency?: number;
  /** Host name resolution; default `node:dns` lookup. Tests inject names. */
  readonly lookup?: HostLookup;
}

export class WebhookDispatcher {
  /** Pass to `jobEffectHandlers`: enqueues the job's webhook, if it has one. */
  readonly listener: JobTerminalListener = (notice, effectId) => this.enqueue(notice, effectId).then(() => undefined);

  private readonly store: Store;
  private readonly config: WebhooksConfig;
  private readonly policy: TargetPolicy;
  private readonly logger: Logger;
  private readonly pollIntervalMs: number;
  private readonly concurrency: number;
  private readonly lookup: HostLookup;
  private readonly claimMs: number;
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Aborted by `stop`: cuts attempts in flight short. */
  private stopping = new AbortController();
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeLoop: (() => void) | undefined;

  /** @throws Error when `allowed_targets` holds an entry that is not a host, address or range. */
  constructor(private readonly options: WebhookDispatcherOptions) {
    this.store = options.store;
    this.config = options.config;
    this.policy = compileTargetPolicy(options.config);
    this.logger = options.logger.child({ component: 'webhooks' });
    this.pollIntervalMs = options.pollIntervalMs ?? 250;
    this.concurrency = options.concurrency ?? 16;
    this.lookup = options.lookup ?? systemLookup;
    this.claimMs = 2 * options.config.timeout_ms + CLAIM_MARGIN_MS;
  }

  /**
   * Records the job's delivery (once per effect id) and returns its id, or
   * null when the job has no `callback_url`. Throws only when the store does,
   * which retries the effect — and the retry finds what was written.
   */
  async enqueue(notice: JobTerminalNotice, effectId: string): Promise<string | null> {
    if (notice.callbackUrl === null) return null;
    const deliveryId = deliveryIdOf(effectId);
    const key = webhookKey(deliveryId);
    let due = readDelivery(await this.store.kvGet(key))?.record;
    if (due === undefined) {
      const body = await buildWebhookBody(notice, this.options.readModels);
      const record = newDelivery({ deliveryId, jobId: notice.jobId, accountId: notice.accountId, url: notice.callbackUrl, body, maxAttempts: 1 + this.config.retries, now: await this.store.now() });
      // Lost race (a concurrent replay wrote first): theirs stands; the queue entry below is harmless.
      if (await this.store.kvSet(key, record, { ifVersion: 0, ttlMs: RECORD_TTL_MS })) due = record;
    }
    // Also on a replay: an effect that crashed between the two writes left a record nothing points at.
    if (due === undefined || !isFinal(due.state)) await this.store.queuePush(WEBHOOK_DUE_QUEUE, [{ member: deliveryId, score: due?.next_attempt_at ?? (await this.store.now()) }]);
    this.logger.debug({ jobId: notice.jobId, deliveryId }, 'webhook enqueued');
    this.wakeLoop?.();
    return deliveryId;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = new AbortController();
    this.loop = this.dispatchLoop();
  }

  /**
   * Stops polling and aborts attempts in flight; their claims are given back
   * uncounted so the next controller (or this one, restarted) sends at once.
   * The store must stay open until this resolves.
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.stopping.abort();
    this.wakeLoop?.();
    await this.loop;
    await Promise.all(this.inFlight.values());
  }

  private async dispatchLoop(): Promise<void> {
    while (this.running) {
      let moreDue = false;
      try {
        moreDue = await this.startDueAttempts();
      } catch (error) {
        this.logger.warn({ err: error }, 'webhook poll failed; retrying');
      }
      // Sleeps until the next poll, or until an enqueue or a freed slot wakes it.
      if (this.running && !moreDue) await this.sleep(this.pollIntervalMs);
    }
  }

  /** Starts up to the free slots' worth of due deliveries; true when it filled them all (more may be due). */
  private async startDueAttempts(): Promise<boolean> {
    const free = this.concurrency - this.inFlight.size;
    if (free <= 0) return false;
    const now = await this.store.now();
    // In-flight ones may still sit at the front until their claim re-scores them; read past them.
    const due = (await this.store.queuePeek(WEBHOOK_DUE_QUEUE, free + this.inFlight.size)).filter((item) => item.score <= now && !this.inFlight.has(item.member)).slice(0, free);
    for (const { member } of due) {
      const attempt = this.claimAndAttempt(member, now)
        .catch((error: unknown) => this.logger.warn({ err: error, deliveryId: member }, 'webhook attempt failed in the store; its claim will run out and it is retried'))
        .finally(() => {
          const wasFull = this.inFlight.size >= this.concurrency;
          this.inFlight.delete(member);
          if (wasFull) this.wakeLoop?.();
        });
      this.inFlight.set(member, attempt);
    }
    return due.length === free;
  }

  private async claimAndAttempt(deliveryId: string, now: number): Promise<void> {
    const claimed = await this.claim(deliveryId, now);
    if (claimed === null) return;
    const result = await this.attempt(claimed.record);
    if (!result.ok && this.stopping.signal.aborted) {
      await this.writeAndIndex(claimed, releaseClaim(claimed.record, await this.store.now()));
      return;
    }
    const settled = settleAttempt(claimed.record, result, await this.store.now(), this.config.retry_backoff_ms);
    if (!(await this.writeAndIndex(claimed, settled))) {
      this.logger.warn({ deliveryId, attempt: claimed.record.attempts }, 'webhook claim was taken over before the attempt was recorded; the other controller decides');
      return;
    }
    this.logSettled(settled, result);
  }

  /**
   * Wins the record for one attempt, or returns null (not due, final, or
   * another controller was faster). The queue is repaired on the way: a
   * stale or orphaned entry is re-scored or removed here.
   */
  private async claim(deliveryId: string, now: number): Promise<VersionedDelivery | null> {
    const current = readDelivery(await this.store.kvGet(webhookKey(deliveryId)));
    if (current === null || isFinal(current.record.state)) {
      await this.store.queueRemove(WEBHOOK_DUE_QUEUE, [deliveryId]);
      return null;
    }
    if (current.record.next_attempt_at > now) {
      await this.store.queuePush(WEBHOOK_DUE_QUEUE, [{ member: deliveryId, score: current.record.next_attempt_at }]);
      return null;
    }
    if (current.record.attempts >= current.record.max_attempts) {
      const failed = failInterrupted(current.record, now);
      if (await this.writeAndIndex(current, failed)) this.logSettled(failed, null);
      return null;
    }
    const claimed = claimDelivery(current.record, now, this.options.controllerId, this.claimMs);
    return this.writeAndIndex(current, claimed);
  }

  private async attempt(record: WebhookDelivery): Promise<AttemptResult> {
    const resolution = await resolveCallbackTarget(record.url, this.policy, this.lookup, this.config.timeout_ms);
    if (!resolution.ok) return { ok: false, status: null, error: resolution.error, retryable: resolution.retryable };
    const outcome = await postWebhook(resolution.target, JSON.stringify(record.body), webhookHeaders(record.delivery_id, record.attempts), this.config.timeout_ms, this.stopping.signal);
    if (outcome.ok && outcome.status !== null) return { ok: true, status: outcome.status };
    return { ok: false, status: outcome.status, error: outcome.error ?? 'failed', retryable: true };
  }

  /**
   * CAS-writes `next` over `current` and points the queue at it: due time
   * while it needs work, gone once final. Returns the new version, or null
   * when someone else changed the record first. The KV write comes first, so
   * a crash in between leaves a queue entry that `claim` repairs.
   */
  private async writeAndIndex(current: VersionedDelivery, next: WebhookDelivery): Promise<VersionedDelivery | null> {
    const written = await this.store.kvSet(webhookKey(next.delivery_id), next, { ifVersion: current.version, ttlMs: RECORD_TTL_MS });
    if (written === null) return null;
    if (isFinal(next.state)) await this.store.queueRemove(WEBHOOK_DUE_QUEUE, [next.delivery_id]);
    else await this.store.queuePush(WEBHOOK_DUE_QUEUE, [{ member: next.delivery_id, score: next.next_attempt_at }]);
    return { record: next, version: written.version };
  }

  private logSettled(record: WebhookDelivery, result: AttemptResult | null): void {
    const fields = { jobId: record.job_id, deliveryId: record.delivery_id, attempt: record.attempts, maxAttempts: record.max_attempts, status: record.last_status, target: redactedTarget(record.url) };
    if (record.state === 'delivered') this.logger.info(fields, 'webhook delivered');
    else if (record.state === 'failed') this.logger.warn({ ...fields, error: record.last_error }, 'webhook failed; no attempt left');
    else this.logger.info({ ...fields, error: result?.ok === false ? result.error : null, retryAt: new Date(record.next_attempt_at).toISOString() }, 'webhook attempt failed; retrying');
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeLoop = done;
    });
  }
}

/** Origin and path only: a query string or user info may hold the receiver's secret. */
function redactedTarget(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}
