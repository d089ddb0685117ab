/**
 * Identifier formats. Job ids follow the reference (`job_20260312_143000_abc123`);
 * every other id is `<prefix>_<random>`. All randomness comes from `node:crypto`
 * so ids are unguessable, which matters because ids appear in URLs.
 */
import { randomInt } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Length of the random part of a generic id: 16 chars of base36 ≈ 82 bits. */
const GENERIC_RANDOM_LENGTH = 16;

/** A `job_<YYYYMMDD>_<HHMMSS>_<6 lowercase alnum>` id, exactly as the reference shows. */
export const JOB_ID_PATTERN = /^job_\d{8}_\d{6}_[a-z0-9]{6}$/;

/** Prefixes must be short lowercase words so ids stay readable and URL-safe. */
const PREFIX_PATTERN = /^[a-z][a-z0-9]{0,15}$/;

/** `length` characters drawn uniformly from `[a-z0-9]` with a CSPRNG. */
export function randomAlnum(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/**
 * A new job id stamped with `now` in UTC. Six random characters give 36^6 ≈ 2.2e9
 * ids per second — collisions are checked at create time anyway (CAS on a new entity).
 */
export function newJobId(now: Date = new Date()): string {
  const date = `${now.getUTCFullYear()}${pad2(now.getUTCMonth() + 1)}${pad2(now.getUTCDate())}`;
  const time = `${pad2(now.getUTCHours())}${pad2(now.getUTCMinutes())}${pad2(now.getUTCSeconds())}`;
  return `job_${date}_${time}_${randomAlnum(6)}`;
}

/** True when `id` has the job id shape. */
export function isJobId(id: string): boolean {
  return JOB_ID_PATTERN.test(id);
}

/**
 * A new `<prefix>_<16 lowercase alnum>` id, e.g. `newId('art')` → `art_k3…`.
 * Known prefixes: `art` artifacts, `wch` wallet challenges, `fb` feedback,
 * `task`, `att` attempts, `evt` events, `wrk` workers.
 */
export function newId(prefix: string): string {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new TypeError(`id prefix must match ${String(PREFIX_PATTERN)}, got ${JSON.stringify(prefix)}`);
  }
  return `${prefix}_${randomAlnum(GENERIC_RANDOM_LENGTH)}`;
}

/**
 * A new event id. Event ids make transitions idempotent (a redelivered mailbox
 * entry carries the same id), so they must be unique, not ordered.
 */
export function newEventId(): string {
  return newId('evt');
}
