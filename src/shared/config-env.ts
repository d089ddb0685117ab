/**
 * `COMPUTALOT_*` environment overrides. Each variable maps to one field of the
 * cluster.yml schema; the schema still validates the value, and a bad value is
 * reported under the variable's name. Variables not listed here are ignored —
 * other `COMPUTALOT_*` names (the runner protocol's `COMPUTALOT_TASK_PAYLOAD`…)
 * are not configuration.
 */

/** How a variable's text becomes a config value before validation; `list` is comma-separated. */
export type EnvValueType = 'string' | 'integer' | 'list';

/** One environment override. */
export interface EnvOverride {
  /** Variable name, e.g. `COMPUTALOT_HTTP_PORT`. */
  readonly name: string;
  /** Dotted field path in cluster.yml, e.g. `controller.http.port`. */
  readonly path: string;
  readonly type: EnvValueType;
}

/** Every supported variable. Order = documentation order. */
export const ENV_OVERRIDES: readonly EnvOverride[] = [
  { name: 'COMPUTALOT_STORE', path: 'store.kind', type: 'string' },
  { name: 'COMPUTALOT_REDIS_URL', path: 'store.redis_url', type: 'string' },
  { name: 'COMPUTALOT_REDIS_PATH', path: 'store.redis_path', type: 'string' },
  { name: 'COMPUTALOT_KEY_PREFIX', path: 'store.key_prefix', type: 'string' },
  { name: 'COMPUTALOT_DATA_DIR', path: 'store.data_dir', type: 'string' },
  { name: 'COMPUTALOT_BLOB_DIR', path: 'store.blob_dir', type: 'string' },
  { name: 'COMPUTALOT_SHARDS', path: 'shards', type: 'integer' },
  { name: 'COMPUTALOT_CONTROLLER_ID', path: 'controller.id', type: 'string' },
  { name: 'COMPUTALOT_HTTP_HOST', path: 'controller.http.host', type: 'string' },
  { name: 'COMPUTALOT_HTTP_PORT', path: 'controller.http.port', type: 'integer' },
  { name: 'COMPUTALOT_GRPC_HOST', path: 'controller.grpc.host', type: 'string' },
  { name: 'COMPUTALOT_GRPC_PORT', path: 'controller.grpc.port', type: 'integer' },
  { name: 'COMPUTALOT_AGENT_TOKEN', path: 'controller.agent_token', type: 'string' },
  { name: 'COMPUTALOT_LEASE_TTL_MS', path: 'controller.lease_ttl_ms', type: 'integer' },
  { name: 'COMPUTALOT_HEARTBEAT_INTERVAL_MS', path: 'controller.heartbeat_interval_ms', type: 'integer' },
  { name: 'COMPUTALOT_JOB_RETENTION_DAYS', path: 'jobs.retention_days', type: 'integer' },
  { name: 'COMPUTALOT_WEBHOOK_ALLOWED_TARGETS', path: 'jobs.webhooks.allowed_targets', type: 'list' },
  { name: 'COMPUTALOT_LOG_LEVEL', path: 'log_level', type: 'string' },
];

/** Path of the config file when `--config` is not given. Not a schema field. */
export const CONFIG_FILE_ENV = 'COMPUTALOT_CONFIG';

/** One value taken from the environment, with where it came from. */
export interface EnvValue {
  readonly name: string;
  readonly path: readonly string[];
  readonly value: unknown;
}

/**
 * The overrides present in `env`. Empty strings count as unset (a blanked
 * variable in a shell script should mean "no override"). Integers that do not
 * parse are passed on as text so the schema rejects them with its own message.
 */
export function readEnvOverrides(env: Readonly<Record<string, string | undefined>>): EnvValue[] {
  const values: EnvValue[] = [];
  for (const override of ENV_OVERRIDES) {
    const raw = env[override.name];
    if (raw === undefined || raw.trim() === '') continue;
    const text = raw.trim();
    const value =
      override.type === 'list'
        ? text
            .split(',')
            .map((item) => item.trim())
            .filter((item) => item !== '')
        : override.type === 'integer' && /^-?\d+$/.test(text)
          ? Number(text)
          : text;
    values.push({ name: override.name, path: override.path.split('.'), value });
  }
  return values;
}
