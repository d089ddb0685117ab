/**
 * Which shards a controller should own, given the live controllers.
 *
 * Shard `s` belongs to the `(s mod n)`-th live controller in id order. Every
 * controller computes the same answer from the same member list, so they agree
 * without talking to each other, the split is even (counts differ by at most
 * one), and a dead controller's shards spread over all survivors. Leases, not
 * this function, guarantee that two controllers never own a shard at once:
 * while views of the member list disagree, a shard merely waits.
 */
export function preferredShards(controllerId: string, liveControllerIds: readonly string[], shardCount: number): number[] {
  const members = [...new Set(liveControllerIds)].sort();
  const position = members.indexOf(controllerId);
  if (position < 0) return [];
  const shards: number[] = [];
  for (let shard = position; shard < shardCount; shard += members.length) shards.push(shard);
  return shards;
}

/** Re-exported so runtime code takes the name from where the store checks fences. */
export { shardLeaseName } from '../../store/store.js';
