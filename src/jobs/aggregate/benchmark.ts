import type { JsonObject } from '../../shared/json.js';
import { rankOrderOf } from './sweep.js';
import { type AggregateTask, contributing, fieldOf, finiteNumber, isJsonObject, objectOr } from './types.js';

export type CandidateStats = {
  candidate: string;
  mean: number | null;
  std: number | null;
  min: number | null;
  max: number | null;
  count: number;
  rank: number | null;
};

/**
 * Mean and **sample** standard deviation (n − 1 denominator). The reference's Journey 6
 * example ({min 0.89, mean 0.92, max 0.95, count 3} → std 0.03) is only consistent with
 * the sample form (population would give 0.0245). One value → std 0.
 */
export function meanStd(values: readonly number[]): { mean: number; std: number } | null {
  const n = values.length;
  if (n === 0) return null;
  const mean = values.reduce((a, v) => a + v, 0) / n;
  if (n === 1) return { mean, std: 0 };
  const ss = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return { mean, std: Math.sqrt(ss / (n - 1)) };
}

/**
 * Journey 6 leaderboard: one row per candidate — every candidate named in
 * `spec.candidates` (declaration order) plus any other `_candidate` seen in task
 * payloads — over the numeric `rank_by` values of its succeeded replicas. Ranked by mean
 * (`rank_order`, desc default); equal means keep declaration order. Candidates with no
 * numeric value have null stats, count 0, rank null, and come last.
 */
export function benchmarkLeaderboard(tasks: readonly AggregateTask[], spec: JsonObject): CandidateStats[] {
  const rankBy = typeof spec['rank_by'] === 'string' ? spec['rank_by'] : '';
  const sign = rankOrderOf(spec['rank_order']) === 'asc' ? 1 : -1;
  const values = new Map<string, number[]>();
  const declared = spec['candidates'];
  if (isJsonObject(declared)) for (const name of Object.keys(declared)) values.set(name, []);
  for (const task of contributing(tasks)) {
    const name = objectOr(task.payload)['_candidate'];
    if (typeof name !== 'string') continue;
    const list = values.get(name) ?? [];
    values.set(name, list);
    const score = finiteNumber(fieldOf(task.result, rankBy));
    if (score !== null) list.push(score);
  }
  const rows = [...values.entries()].map(([candidate, list], order) => {
    const stats = meanStd(list);
    const row: CandidateStats = {
      candidate,
      mean: stats?.mean ?? null,
      std: stats?.std ?? null,
      min: list.length > 0 ? Math.min(...list) : null,
      max: list.length > 0 ? Math.max(...list) : null,
      count: list.length,
      rank: null,
    };
    return { order, row };
  });
  const ranked = rows.filter((r) => r.row.mean !== null).sort((a, b) => sign * ((a.row.mean ?? 0) - (b.row.mean ?? 0)) || a.order - b.order);
  const unranked = rows.filter((r) => r.row.mean === null);
  ranked.forEach((r, i) => (r.row.rank = i + 1));
  return [...ranked, ...unranked].map((r) => r.row);
}
