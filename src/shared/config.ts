/**
 * Loads the cluster configuration: defaults ← `cluster.yml` ← `COMPUTALOT_*`
 * variables ← explicit overrides (CLI flags), validated once by the zod schema in
 * config-schema.ts. Any problem throws a {@link ConfigError} naming the source
 * (file or variable), the field path and what was expected, before anything starts.
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from './errors.js';
import { clusterConfigSchema, type ClusterConfig } from './config-schema.js';
import { CONFIG_FILE_ENV, readEnvOverrides } from './config-env.js';

export { clusterConfigSchema } from './config-schema.js';
export type { ClusterConfig, ClusterConfigInput, StoreConfig, ControllerConfig, AgentGroupConfig, JobsConfig, WebhooksConfig } from './config-schema.js';
export { ENV_OVERRIDES, CONFIG_FILE_ENV, type EnvOverride } from './config-env.js';

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** Path of cluster.yml. Default: `$COMPUTALOT_CONFIG`, else no file (defaults only). */
  readonly file?: string | undefined;
  /** Environment to read `COMPUTALOT_*` from; pass `process.env` in production. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Highest-precedence values, usually from CLI flags; nested like cluster.yml. */
  readonly overrides?: Record<string, unknown>;
  /** How errors name the overrides' source; default `command line`. */
  readonly overridesSource?: string;
}

/** One validation problem, as listed in `ConfigError.details.issues`. */
export interface ConfigIssue {
  /** File path, variable name or overrides label that supplied the bad value. */
  readonly source: string;
  /** Dotted field path, e.g. `controller.http.port`. */
  readonly path: string;
  readonly message: string;
}

type RawConfig = Record<string, unknown>;

/** Field path (dotted) → the source that last set it. */
type SourceMap = Map<string, string>;

/**
 * Reads, merges and validates the configuration.
 *
 * @throws ConfigError when the file cannot be read or parsed, or any value is invalid.
 */
export function loadConfig(options: LoadConfigOptions = {}): ClusterConfig {
  const env = options.env ?? {};
  const file = options.file ?? (env[CONFIG_FILE_ENV]?.trim() || undefined);
  const sources: SourceMap = new Map();
  const raw: RawConfig = file === undefined ? {} : readConfigFile(file);
  if (file !== undefined) recordLeafSources(raw, [], file, sources);

  for (const { name, path, value } of readEnvOverrides(env)) {
    setPath(raw, path, value);
    sources.set(path.join('.'), name);
  }
  if (options.overrides !== undefined) {
    const label = options.overridesSource ?? 'command line';
    mergeInto(raw, options.overrides);
    recordLeafSources(options.overrides, [], label, sources);
  }

  const parsed = clusterConfigSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const fallbackSource = file ?? 'configuration';
  throw configErrorFromIssues(parsed.error.issues.flatMap((issue) => describeIssue(issue, sources, fallbackSource)));
}

function readConfigFile(file: string): RawConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : 'cannot read file';
    throw new ConfigError(`${file}: ${reason}`, { cause: error, details: { file } });
  }
  const document = parseDocument(text, { prettyErrors: true });
  const firstError = document.errors[0];
  if (firstError !== undefined) {
    throw new ConfigError(`${file}: invalid YAML: ${firstError.message}`, { cause: firstError, details: { file } });
  }
  const content: unknown = document.toJS();
  if (content === null || content === undefined) return {};
  if (!isPlainObject(content)) throw new ConfigError(`${file}: expected a mapping of settings at the top level`, { details: { file } });
  return content;
}

/** Turns one zod issue into lines; unknown keys become one line each, with their full path. */
function describeIssue(issue: z.core.$ZodIssue, sources: SourceMap, fallbackSource: string): ConfigIssue[] {
  const basePath = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const path = [...basePath, key];
      return { source: sourceOf(path, sources, fallbackSource), path: formatPath(path), message: 'unknown field' };
    });
  }
  return [{ source: sourceOf(basePath, sources, fallbackSource), path: formatPath(basePath), message: issue.message }];
}

/** `['agents', '0', 'cpu']` → `agents[0].cpu`, the way people write it. */
function formatPath(path: readonly string[]): string {
  if (path.length === 0) return '(root)';
  return path.reduce((text, key) => (/^\d+$/.test(key) ? `${text}[${key}]` : text === '' ? key : `${text}.${key}`), '');
}

/**
 * Who supplied the value at `path`: the deepest recorded prefix (the value itself
 * or the object containing it), else any source below it (a check on a whole
 * object), else the fallback (the file, where defaults failed a cross-field check).
 */
function sourceOf(path: readonly string[], sources: SourceMap, fallbackSource: string): string {
  for (let length = path.length; length > 0; length--) {
    const source = sources.get(path.slice(0, length).join('.'));
    if (source !== undefined) return source;
  }
  const prefix = path.length === 0 ? '' : `${path.join('.')}.`;
  for (const [key, source] of sources) if (prefix === '' || key.startsWith(prefix)) return source;
  return fallbackSource;
}

function configErrorFromIssues(issues: ConfigIssue[]): ConfigError {
  const lines = issues.map((issue) => `${issue.source}: ${issue.path}: ${issue.message}`);
  return new ConfigError(lines.join('\n'), { details: { issues } });
}

function recordLeafSources(value: unknown, path: string[], source: string, sources: SourceMap): void {
  if (value === undefined) return;
  if (isPlainObject(value)) {
    for (const [key, child] of Object.entries(value)) recordLeafSources(child, [...path, key], source, sources);
    return;
  }
  // Arrays are replaced whole, never merged, so they are leaves here too.
  if (path.length > 0) sources.set(path.join('.'), source);
}

function setPath(target: RawConfig, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    // A non-object here (e.g. `controller: 5` in the file) is replaced: the
    // override wins, and the file's bad value no longer needs reporting.
    if (!isPlainObject(next)) node[key] = {};
    node = node[key] as RawConfig;
  }
  const last = path[path.length - 1];
  if (last !== undefined) node[last] = value;
}

function mergeInto(target: RawConfig, patch: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    const existing = target[key];
    if (isPlainObject(value) && isPlainObject(existing)) mergeInto(existing, value);
    else target[key] = isPlainObject(value) ? structuredClone(value) : value;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
