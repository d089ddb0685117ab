import type { JsonObject, JsonValue } from '../../shared/json.js';
import { type AggregateTask, contributing, fieldOf, finiteNumber, isJsonObject, objectOr } from './types.js';

export type RankOrder = 'asc' | 'desc';

export function rankOrderOf(value: JsonValue | undefined): RankOrder {
  return value === 'asc' ? 'asc' : 'desc';
}

export type SweepEntry = {
  params: JsonObject;
  result: JsonValue;
  rank: number | null;
};

export interface SweepLeaderboard {
  results: SweepEntry[];
  best: SweepEntry | null;
}

/** The combination a task ran: `payload._sweep_params`, else the payload minus fixed and `_` keys. */
function paramsOf(payload: JsonObject, fixed: JsonObject): JsonObject {
  const declared = payload['_sweep_params'];
  if (isJsonObject(declared)) return declared;
  const params: JsonObject = {};
  for (const [key, value] of Object.entries(payload)) if (!key.startsWith('_') && !Object.hasOwn(fixed, key)) params[key] = value;
  return params;
}

/**
 * Journey 3 leaderboard. Succeeded tasks with a result only (failed ones are absent;
 * completeness reports them). Entries with a numeric `rank_by` come first, sorted by it
 * (`rank_order` desc by default, or asc); ties go to the lower `_sweep_idx` (then task
 * index). Ranks are 1..n with no shared ranks. Entries whose result lacks a numeric
 * `rank_by` follow, unranked (`rank: null`), in `_sweep_idx` order. `best` is the rank-1
 * entry, or null when nothing is ranked.
 */
export function sweepLeaderboard(tasks: readonly AggregateTask[], spec: JsonObject): SweepLeaderboard {
  const rankBy = typeof spec['rank_by'] === 'string' ? spec['rank_by'] : '';
  const sign = rankOrderOf(spec['rank_order']) === 'asc' ? 1 : -1;
  const fixed = objectOr(spec['fixed_payload']);
  const rows = contributing(tasks).map((task) => {
    const payload = objectOr(task.payload);
    return {
      idx: finiteNumber(payload['_sweep_idx']) ?? task.index,
      index: task.index,
      score: finiteNumber(fieldOf(task.result, rankBy)),
      params: paramsOf(payload, fixed),
      result: task.result,
    };
  });
  const byIdx = (a: (typeof rows)[number], b: (typeof rows)[number]): number => a.idx - b.idx || a.index - b.index;
  const ranked = rows.filter((row) => row.score !== null).sort((a, b) => sign * ((a.score ?? 0) - (b.score ?? 0)) || byIdx(a, b));
  const unranked = rows.filter((row) => row.score === null).sort(byIdx);
  const results: SweepEntry[] = [
    ...ranked.map((row, i) => ({ params: row.params, result: row.result, rank: i + 1 })),
    ...unranked.map((row) => ({ params: row.params, result: row.result, rank: null })),
  ];
  const first = results[0];
  return { results, best: first !== undefined && first.rank === 1 ? first : null };
}
