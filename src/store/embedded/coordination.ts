import type { JsonValue } from '../../shared/json.js';
import type { Lease } from '../store.js';
import type { KvEntry, MemberRecord } from '../store.js';
import type { Planned } from './mutations.js';
import type { KvRecord, MemberEntry, StoreState } from './state.js';
import { copyJson } from './values.js';

/**
 * Decisions for the coordination data — leases, members, KV — made against
 * the state at `now` (the store's clock). Expired records stay in memory until
 * the next snapshot drops them, so every reader goes through these helpers to
 * see them as absent, as Redis's own key expiry would make them.
 */

export function liveLease(state: StoreState, name: string, now: number): Lease | undefined {
  const lease = state.leases.get(name);
  return lease && lease.expiresAt > now ? lease : undefined;
}

/** Whether `owner` holds `name` with `token` right now. */
export function holdsLease(state: StoreState, name: string, owner: string, token: number, now: number): boolean {
  const lease = liveLease(state, name, now);
  return lease !== undefined && lease.owner === owner && lease.token === token;
}

/**
 * The lease `owner` gets, or null when another owner holds it. Even a holder
 * re-acquiring gets a new, larger token, fencing off its previous incarnation
 * (same as the Redis script).
 */
export function planAcquireLease(state: StoreState, name: string, owner: string, ttlMs: number, now: number): Lease | null {
  const current = liveLease(state, name, now);
  if (current && current.owner !== owner) return null;
  return { owner, token: (state.leaseTokens.get(name) ?? 0) + 1, expiresAt: now + ttlMs };
}

/** See `Store.acquireLease`. */
export function planLeaseAcquire(state: StoreState, name: string, owner: string, ttlMs: number, now: number): Planned<Lease | null> {
  const lease = planAcquireLease(state, name, owner, ttlMs, now);
  return { mutations: lease ? [{ t: 'leaseSet', name, lease }] : [], result: lease };
}

/** See `Store.renewLease`: only the holder, with its token, extends it. */
export function planLeaseRenew(state: StoreState, name: string, owner: string, token: number, ttlMs: number, now: number): Planned<Lease | null> {
  if (!holdsLease(state, name, owner, token, now)) return { mutations: [], result: null };
  const lease: Lease = { owner, token, expiresAt: now + ttlMs };
  return { mutations: [{ t: 'leaseSet', name, lease }], result: lease };
}

/** See `Store.releaseLease`. */
export function planLeaseRelease(state: StoreState, name: string, owner: string, token: number, now: number): Planned<boolean> {
  const held = holdsLease(state, name, owner, token, now);
  return { mutations: held ? [{ t: 'leaseDel', name }] : [], result: held };
}

/** See `Store.removeMember`. */
export function planMemberRemove(state: StoreState, group: string, id: string): Planned<void> {
  return { mutations: state.members.get(group)?.has(id) ? [{ t: 'memberDel', group, id }] : [], result: undefined };
}

/** See `Store.listMembers`: copies, earliest expiry first. */
export function memberRecords(state: StoreState, group: string, now: number): MemberRecord[] {
  return liveMembers(state, group, now).map(([id, member]) => ({ id, info: copyJson(member.info), expiresAt: member.expiresAt }));
}

/** See `Store.kvDelete`. */
export function planKvDelete(state: StoreState, key: string, now: number): Planned<boolean> {
  const live = liveKv(state, key, now) !== undefined;
  return { mutations: live ? [{ t: 'kvDel', key }] : [], result: live };
}

/** Live members of `group`, earliest expiry first (the Redis store's order). */
export function liveMembers(state: StoreState, group: string, now: number): [string, MemberEntry][] {
  return [...(state.members.get(group) ?? [])]
    .filter(([, member]) => member.expiresAt > now)
    .sort(([a, x], [b, y]) => x.expiresAt - y.expiresAt || (a < b ? -1 : a > b ? 1 : 0));
}

export function liveKv(state: StoreState, key: string, now: number): KvRecord | undefined {
  const entry = state.kv.get(key);
  return entry && (entry.expiresAt === null || entry.expiresAt > now) ? entry : undefined;
}

/**
 * See `Store.kvSet`: the write, or none and null when `ifVersion` does not
 * match the current version (0 = absent or expired). Versions restart at 1
 * after a delete or expiry; a write without a TTL clears any TTL.
 */
export function planKvSet(
  state: StoreState,
  key: string,
  value: JsonValue,
  options: { ttlMs?: number; ifVersion?: number },
  now: number,
): Planned<KvEntry | null> {
  const currentVersion = liveKv(state, key, now)?.version ?? 0;
  if (options.ifVersion !== undefined && options.ifVersion !== currentVersion) return { mutations: [], result: null };
  const version = currentVersion + 1;
  return {
    mutations: [{ t: 'kvSet', key, value, version, expiresAt: options.ttlMs === undefined ? null : now + options.ttlMs }],
    result: { key, value: copyJson(value), version },
  };
}

/** Copies of the live entries among `keys`, in that order (expired and absent ones left out). */
export function kvEntries(state: StoreState, keys: readonly string[], now: number): KvEntry[] {
  const entries: KvEntry[] = [];
  for (const key of keys) {
    const entry = liveKv(state, key, now);
    if (entry) entries.push({ key, value: copyJson(entry.value), version: entry.version });
  }
  return entries;
}

/** Live keys starting with `prefix`, in key order. O(n log n) over all keys: KV holds little. */
export function liveKvKeys(state: StoreState, prefix: string, now: number): string[] {
  const keys: string[] = [];
  for (const [key, entry] of state.kv) {
    if (key.startsWith(prefix) && (entry.expiresAt === null || entry.expiresAt > now)) keys.push(key);
  }
  return keys.sort();
}
