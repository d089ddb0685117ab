/**
 * structured_runner planning: one task for the payload, or a fan-out in one
 * of the three public shapes (reference Journey 2, "Fan-out contract"):
 *
 * - `{by: "field", batch_size?|batch_per_task?}` — `payload[field]` must be a
 *   non-empty array. Unbatched: one task per item, payload = the job payload
 *   with `field` replaced by that ONE item. Batched (batch_size = k, any k ≥ 1
 *   given explicitly, even 1): one task per run of up to k items, `field`
 *   becomes that sub-list and `payload._batch` describes the slice.
 * - `{items: [{…}, …], batch_size?|batch_per_task?}` — each item (a JSON
 *   object) is the task's payload VERBATIM: the job's `payload`, if any, is not
 *   merged in ("you control the payloads exactly"). Batched: payload =
 *   `{items: [sub-list], _batch}`.
 * - `{chunks: N, total: T, range_field?}` — N tasks, payload = job payload ∪
 *   `{start, count}` (the range wins over same-named payload keys). Ranges are
 *   contiguous from 0, counts differ by at most one (the first T mod N get one
 *   more) and sum to T. `range_field` names the payload field the range
 *   covers; it is informational and the payload keeps it unchanged.
 *
 * `_batch` = `{index, size, start, count, total_items, total_batches}`:
 * index = 0-based batch number, size = the configured batch size, start =
 * 0-based position of the batch's first item in the full list, count = items
 * in this batch (≤ size; only the last batch may be short).
 *
 * Mixing shapes (`by`, `items`, `chunks`/`total`/`range_field`) is an error
 * naming the mix; unknown `fan_out` keys are errors too.
 */
import type { JsonObject, JsonValue } from '../../shared/json.js';
import { checkChunks, failed, isJsonObject, isSafeInt, kindOf, splitEvenly, unknownKeys, type PlanError, type PlanOutcome, type TaskMeta } from './types.js';

type FanOutShape = 'by' | 'items' | 'chunks';

const SHAPE_KEYS: Record<FanOutShape, readonly string[]> = {
  by: ['by', 'batch_size', 'batch_per_task'],
  items: ['items', 'batch_size', 'batch_per_task'],
  chunks: ['chunks', 'total', 'range_field'],
};

/** How many bad `fan_out.items` entries are reported one by one before summarising. */
const MAX_ITEM_ERRORS = 10;

function shapesOf(fanOut: JsonObject): FanOutShape[] {
  const shapes: FanOutShape[] = [];
  if ('by' in fanOut) shapes.push('by');
  if ('items' in fanOut) shapes.push('items');
  if ('chunks' in fanOut || 'total' in fanOut || 'range_field' in fanOut) shapes.push('chunks');
  return shapes;
}

const SHAPE_NAMES: Record<FanOutShape, string> = { by: 'by', items: 'items', chunks: 'chunks + total' };

/** The key a fan_out.by item is known by in a keyed merge. */
export function itemKey(item: JsonValue): string {
  return typeof item === 'string' ? item : typeof item === 'number' || typeof item === 'boolean' ? String(item) : JSON.stringify(item);
}

function checkBatch(fanOut: JsonObject, errors: PlanError[]): void {
  for (const name of ['batch_size', 'batch_per_task'] as const) {
    const value = fanOut[name];
    if (value !== undefined && (!isSafeInt(value) || value < 1)) errors.push({ field: `fan_out.${name}`, message: `must be an integer ≥ 1 (got ${JSON.stringify(value)})` });
  }
  if (fanOut.batch_size !== undefined && fanOut.batch_per_task !== undefined && fanOut.batch_size !== fanOut.batch_per_task) {
    errors.push({ field: 'fan_out', message: 'batch_size and batch_per_task are aliases and disagree; give one' });
  }
}

/** The configured batch size, or undefined when the fan-out is not batched. */
function batchSizeOf(fanOut: JsonObject): number | undefined {
  const value = fanOut.batch_size ?? fanOut.batch_per_task;
  return typeof value === 'number' ? value : undefined;
}

function validateFanOut(spec: JsonObject, fanOut: JsonObject, errors: PlanError[]): void {
  const shapes = shapesOf(fanOut);
  if (shapes.length > 1) {
    errors.push({ field: 'fan_out', message: `mixes fan_out shapes ${shapes.map((s) => SHAPE_NAMES[s]).join(' and ')}; choose exactly one of {by}, {items}, {chunks, total}` });
    return;
  }
  const shape = shapes[0];
  if (shape === undefined) {
    errors.push({ field: 'fan_out', message: 'needs exactly one of {by}, {items}, {chunks, total}' });
    return;
  }
  unknownKeys(fanOut, SHAPE_KEYS[shape], 'fan_out', errors);
  switch (shape) {
    case 'by': {
      checkBatch(fanOut, errors);
      const by = fanOut.by;
      if (typeof by !== 'string' || by === '') {
        errors.push({ field: 'fan_out.by', message: `must name a payload field (got ${JSON.stringify(by)})` });
        return;
      }
      const payload = spec.payload;
      if (!isJsonObject(payload)) {
        errors.push({ field: 'fan_out.by', message: `names payload field "${by}" but the job has no payload object` });
        return;
      }
      const list = payload[by];
      if (list === undefined) errors.push({ field: 'fan_out.by', message: `names payload field "${by}", which the payload does not have` });
      else if (!Array.isArray(list)) errors.push({ field: 'fan_out.by', message: `payload.${by} is ${kindOf(list)}, not an array` });
      else if (list.length === 0) errors.push({ field: `payload.${by}`, message: 'is empty; fan_out.by needs at least one item' });
      return;
    }
    case 'items': {
      checkBatch(fanOut, errors);
      const items = fanOut.items;
      if (!Array.isArray(items)) {
        errors.push({ field: 'fan_out.items', message: `must be an array of payload objects (got ${kindOf(items)})` });
        return;
      }
      if (items.length === 0) {
        errors.push({ field: 'fan_out.items', message: 'is empty; needs at least one item' });
        return;
      }
      let bad = 0;
      items.forEach((item, i) => {
        if (isJsonObject(item)) return;
        bad++;
        if (bad <= MAX_ITEM_ERRORS) errors.push({ field: `fan_out.items[${i}]`, message: `must be a payload object (got ${kindOf(item)})` });
      });
      if (bad > MAX_ITEM_ERRORS) errors.push({ field: 'fan_out.items', message: `${bad} items are not payload objects (first ${MAX_ITEM_ERRORS} listed)` });
      return;
    }
    case 'chunks': {
      checkChunks(fanOut.chunks, fanOut.total, 'fan_out', errors);
      const rangeField = fanOut.range_field;
      if (rangeField !== undefined && (typeof rangeField !== 'string' || rangeField === '')) {
        errors.push({ field: 'fan_out.range_field', message: `must be a non-empty string (got ${JSON.stringify(rangeField)})` });
      }
      return;
    }
  }
}

/**
 * Every problem with a structured_runner spec's planning fields: the fan-out
 * shape and `merge_strategy` prerequisites (`keyed` needs `fan_out.by` and
 * distinct keys; `weighted_avg` needs `value_field` and `weight_field`).
 */
export function validateStructuredRunner(spec: JsonObject): PlanError[] {
  const errors: PlanError[] = [];
  const fanOut = spec.fan_out;
  if (fanOut !== undefined && fanOut !== null) {
    if (isJsonObject(fanOut)) validateFanOut(spec, fanOut, errors);
    else errors.push({ field: 'fan_out', message: `must be an object (got ${kindOf(fanOut)})` });
  }
  if (spec.payload !== undefined && !isJsonObject(spec.payload)) errors.push({ field: 'payload', message: `must be an object (got ${kindOf(spec.payload)})` });
  const merge = spec.merge_strategy;
  if (merge === 'keyed') {
    if (!isJsonObject(fanOut) || !('by' in fanOut)) errors.push({ field: 'merge_strategy', message: '"keyed" needs fan_out.by' });
    else if (errors.length === 0) {
      const list = (spec.payload as JsonObject)[fanOut.by as string] as JsonValue[];
      const seen = new Set<string>();
      for (const item of list) {
        const key = itemKey(item);
        if (seen.has(key)) {
          errors.push({ field: `payload.${fanOut.by as string}`, message: `duplicate key ${JSON.stringify(key)}; "keyed" merge needs distinct items` });
          break;
        }
        seen.add(key);
      }
    }
  } else if (merge === 'weighted_avg') {
    for (const name of ['value_field', 'weight_field'] as const) {
      const value = spec[name];
      if (typeof value !== 'string' || value === '') errors.push({ field: name, message: 'required (a result field name) with merge_strategy "weighted_avg"' });
    }
  } else if (merge !== undefined && merge !== 'collect') {
    errors.push({ field: 'merge_strategy', message: `must be one of collect, keyed, weighted_avg (got ${JSON.stringify(merge)})` });
  }
  return errors;
}

function batchMeta(index: number, size: number, start: number, count: number, totalItems: number, totalBatches: number): JsonObject {
  return { index, size, start, count, total_items: totalItems, total_batches: totalBatches };
}

/** Plans a structured_runner job: one task for `payload`, or its fan-out. */
export function planFanOut(spec: JsonObject): PlanOutcome {
  const errors = validateStructuredRunner(spec);
  if (errors.length > 0) return failed(errors);
  const fanOut = spec.fan_out;
  const payload: JsonObject = isJsonObject(spec.payload) ? spec.payload : {};
  if (!isJsonObject(fanOut)) return { ok: true, payloads: [payload], tasks: [{}] };

  const size = batchSizeOf(fanOut);
  const payloads: JsonValue[] = [];
  const tasks: TaskMeta[] = [];

  if (typeof fanOut.by === 'string') {
    const by = fanOut.by;
    const list = payload[by] as JsonValue[];
    if (size === undefined) {
      for (const item of list) {
        payloads.push({ ...payload, [by]: item });
        tasks.push({ key: itemKey(item) });
      }
    } else {
      const totalBatches = Math.ceil(list.length / size);
      for (let index = 0; index < totalBatches; index++) {
        const start = index * size;
        const sub = list.slice(start, start + size);
        payloads.push({ ...payload, [by]: sub, _batch: batchMeta(index, size, start, sub.length, list.length, totalBatches) });
        tasks.push({ keys: sub.map(itemKey), batch: { index, start, count: sub.length } });
      }
    }
    return { ok: true, payloads, tasks };
  }

  if (Array.isArray(fanOut.items)) {
    const items = fanOut.items;
    if (size === undefined) {
      for (const item of items) {
        payloads.push(item);
        tasks.push({});
      }
    } else {
      const totalBatches = Math.ceil(items.length / size);
      for (let index = 0; index < totalBatches; index++) {
        const start = index * size;
        const sub = items.slice(start, start + size);
        payloads.push({ items: sub, _batch: batchMeta(index, size, start, sub.length, items.length, totalBatches) });
        tasks.push({ batch: { index, start, count: sub.length } });
      }
    }
    return { ok: true, payloads, tasks };
  }

  for (const range of splitEvenly(0, fanOut.total as number, fanOut.chunks as number)) {
    payloads.push({ ...payload, start: range.start, count: range.count });
    tasks.push({ range });
  }
  return { ok: true, payloads, tasks };
}
