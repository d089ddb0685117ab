import type { ChainableCommander, Redis } from 'ioredis';

/* Small ioredis helpers shared by the store's parts. */

/**
 * Sends a pipeline and returns its replies in order, throwing the first
 * command error (ioredis reports them per command rather than rejecting).
 */
export async function execPipeline(pipeline: ChainableCommander): Promise<unknown[]> {
  const results = await pipeline.exec();
  if (!results) throw new Error('Redis pipeline was discarded');
  return results.map(([error, reply]) => {
    if (error) throw error;
    return reply;
  });
}

/**
 * QUIT when connected (replies already sent are kept); otherwise drop the
 * socket at once rather than queue QUIT behind reconnect attempts to a server
 * that may be gone for good.
 */
export async function closeConnection(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  await redis.quit().catch(() => redis.disconnect());
}
