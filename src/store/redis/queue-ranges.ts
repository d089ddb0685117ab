import type { RedisKeys } from './keys.js';
import type { ScriptArg, StoreScripts } from './scripts.js';

/**
 * The range operations of `Store` (`queuePushRange` …) on Redis: each is one
 * run of `commands/queue-range-2.lua` over the queue and its cursor hash.
 */
export class RedisQueueRanges {
  constructor(
    private readonly keys: RedisKeys,
    private readonly scripts: StoreScripts,
  ) {}

  async push(queue: string, member: string, score: number): Promise<boolean> {
    return (await this.run(queue, ['push', member, score])) === 1;
  }

  async take(queue: string, member: string, end: number, max: number): Promise<{ from: number; to: number } | null> {
    if (max <= 0) return null;
    const taken = (await this.run(queue, ['take', member, end, max])) as [number, number] | null;
    return taken === null ? null : { from: Number(taken[0]), to: Number(taken[1]) };
  }

  async close(queue: string, member: string): Promise<number | null> {
    return cursorOrNull(await this.run(queue, ['close', member]));
  }

  async cursor(queue: string, member: string): Promise<number | null> {
    return cursorOrNull(await this.run(queue, ['cursor', member]));
  }

  async forget(queue: string, member: string): Promise<void> {
    await this.run(queue, ['forget', member]);
  }

  private run(queue: string, args: ScriptArg[]): Promise<unknown> {
    return this.scripts.run('queueRange', [this.keys.queue(queue), this.keys.queueRangeCursors(queue)], args);
  }
}

function cursorOrNull(reply: unknown): number | null {
  return reply === null ? null : Number(reply);
}
