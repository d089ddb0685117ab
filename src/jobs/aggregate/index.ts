import type { JsonObject, JsonValue } from '../../shared/json.js';
import { benchmarkLeaderboard } from './benchmark.js';
import { mergeCollect, mergeKeyed, mergeWeightedAvg } from './merge.js';
import { effectiveSchema, summarizeQuality, withQuality } from './quality.js';
import { reduceResults } from './reduce.js';
import { sweepLeaderboard } from './sweep.js';
import { type AggregateTask, isSucceeded, objectOr } from './types.js';

export * from './benchmark.js';
export * from './merge.js';
export * from './quality.js';
export * from './reduce.js';
export * from './sweep.js';
export * from './types.js';

export type Completeness = {
  total_tasks: number;
  succeeded_tasks: number;
  missing_tasks: number;
  /** succeeded / total; 1 for a job with no tasks (nothing is missing). */
  ratio: number;
};

export interface JobAggregate {
  summary: JsonObject;
  aggregate_result: JsonValue;
  aggregate_aliases: JsonObject;
  completeness: Completeness;
}

export function completenessOf(tasks: readonly AggregateTask[]): Completeness {
  const total = tasks.length;
  const succeeded = tasks.filter(isSucceeded).length;
  return { total_tasks: total, succeeded_tasks: succeeded, missing_tasks: total - succeeded, ratio: total === 0 ? 1 : succeeded / total };
}

/**
 * The job-level result surface (api-details §6.1/§6.3): type-specific summary fields,
 * `aggregate_result`, `aggregate_aliases`, `completeness`, and `quality`; `summary`
 * repeats the last four. Per type:
 * - sweep: summary `{results, best}`; aggregate_result = best (or null); aliases
 *   `{best_<rank_by>}` when something ranked.
 * - benchmark: summary `{leaderboard}`; aggregate_result = leaderboard; aliases
 *   `{best_candidate}` when something ranked.
 * - map_reduce: summary `{reduced}`; aggregate_result = reduced; aliases = the reduced
 *   fields themselves (so `avg_edge: "mean"` surfaces as `avg_edge`).
 * - structured_runner: `merge_strategy` collect (list) / keyed (object) / weighted_avg
 *   (number or null; summary and aliases carry `avg_<value_field>` plus the coverage
 *   fields weight_field, expected_weight, completed_weight, pending_weight).
 * Tasks without a `quality` are scored here against the job's effective schema.
 * Aggregation warnings, if any, are in `summary.aggregate_warnings`.
 */
export function aggregateJob(jobType: string, spec: JsonObject, tasks: readonly AggregateTask[]): JobAggregate {
  const scored = withQuality(tasks, effectiveSchema(jobType, spec));
  const completeness = completenessOf(tasks);
  const quality = summarizeQuality(scored);
  const summary: JsonObject = {};
  let aggregateResult: JsonValue = null;
  let aliases: JsonObject = {};
  let warnings: string[] = [];
  switch (jobType) {
    case 'sweep': {
      const board = sweepLeaderboard(tasks, spec);
      summary['results'] = board.results;
      summary['best'] = board.best;
      aggregateResult = summary['best'];
      const rankBy = spec['rank_by'];
      if (board.best !== null && typeof rankBy === 'string') aliases = { [`best_${rankBy}`]: objectOr(board.best.result)[rankBy] ?? null };
      break;
    }
    case 'benchmark': {
      const board = benchmarkLeaderboard(tasks, spec);
      summary['leaderboard'] = board;
      aggregateResult = summary['leaderboard'];
      const top = board[0];
      if (top !== undefined && top.rank === 1) aliases = { best_candidate: top.candidate };
      break;
    }
    case 'map_reduce': {
      const outcome = reduceResults(tasks, spec['reduce']);
      summary['reduced'] = outcome.reduced;
      aggregateResult = outcome.reduced;
      aliases = { ...outcome.reduced };
      warnings = outcome.warnings;
      break;
    }
    default: {
      const strategy = typeof spec['merge_strategy'] === 'string' ? spec['merge_strategy'] : 'collect';
      summary['merge_strategy'] = strategy;
      if (strategy === 'keyed') {
        const keyed = mergeKeyed(tasks, objectOr(spec['fan_out']));
        aggregateResult = keyed.results;
        warnings = keyed.warnings;
      } else if (strategy === 'weighted_avg') {
        const w = mergeWeightedAvg(tasks, spec);
        aggregateResult = w.value;
        aliases = { [w.alias]: w.value };
        Object.assign(summary, {
          [w.alias]: w.value,
          value_field: w.value_field,
          weight_field: w.weight_field,
          expected_weight: w.expected_weight,
          completed_weight: w.completed_weight,
          pending_weight: w.pending_weight,
        });
        warnings = w.warnings;
      } else {
        aggregateResult = mergeCollect(tasks);
      }
      break;
    }
  }
  summary['aggregate_result'] = aggregateResult;
  summary['aggregate_aliases'] = aliases;
  summary['completeness'] = completeness;
  summary['quality'] = quality;
  if (warnings.length > 0) summary['aggregate_warnings'] = warnings;
  return { summary, aggregate_result: aggregateResult, aggregate_aliases: aliases, completeness };
}

/** `partial` by quality: all tasks done but some result is suspect (quality < 0.5). */
export function hasSuspectResults(tasks: ReadonlyArray<Pick<AggregateTask, 'index' | 'task_id' | 'quality'>>): boolean {
  return summarizeQuality(tasks).suspect_count > 0;
}
