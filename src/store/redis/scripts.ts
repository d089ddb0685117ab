import { readdirSync, readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/**
 * The Lua scripts in `./commands/`, one per multi-key change. A file is named
 * `<name>-<numberOfKeys>.lua` (BullMQ's convention) and registered with
 * ioredis `defineCommand` under the camel-cased name, so ioredis sends EVALSHA
 * and falls back to EVAL when the server lost its script cache.
 */
export const SCRIPT_NAMES = [
  'commit',
  'loadEntities',
  'appendMailbox',
  'fireDueTimers',
  'ack',
  'deleteOutbox',
  'acquireLease',
  'renewLease',
  'releaseLease',
  'heartbeatMember',
  'listMembers',
  'removeMember',
  'kvSet',
  'kvDelete',
  'kvList',
  'queueRange',
] as const;

export type ScriptName = (typeof SCRIPT_NAMES)[number];

/** What a script argument may be; Buffers pass raw bytes (e.g. 0xff range ends). */
export type ScriptArg = string | number | Buffer;

interface ScriptDefinition {
  readonly name: ScriptName;
  readonly numberOfKeys: number;
  readonly lua: string;
}

type ScriptCommand = (keysAndArgs: readonly ScriptArg[]) => Promise<unknown>;

const commandsDir = new URL('./commands/', import.meta.url);
let definitions: ReadonlyMap<ScriptName, ScriptDefinition> | undefined;

/** Reads `./commands/*.lua` once per process and checks every expected script is there. */
function scriptDefinitions(): ReadonlyMap<ScriptName, ScriptDefinition> {
  if (definitions) return definitions;
  const found = new Map<ScriptName, ScriptDefinition>();
  for (const file of readdirSync(commandsDir)) {
    const match = /^([a-z]+(?:-[a-z]+)*)-(\d+)\.lua$/.exec(file);
    if (!match?.[1] || !match[2]) continue;
    const name = match[1].replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
    if (!(SCRIPT_NAMES as readonly string[]).includes(name)) {
      throw new Error(`Unexpected Redis script ${file}: add its name to SCRIPT_NAMES`);
    }
    const lua = readFileSync(new URL(file, commandsDir), 'utf8');
    found.set(name as ScriptName, { name: name as ScriptName, numberOfKeys: Number(match[2]), lua });
  }
  const missing = SCRIPT_NAMES.filter((name) => !found.has(name));
  if (missing.length > 0) {
    throw new Error(`Redis scripts missing from ${commandsDir.pathname}: ${missing.join(', ')}`);
  }
  definitions = found;
  return found;
}

/** Runs the store's Lua scripts on one connection. */
export class StoreScripts {
  private readonly commands = new Map<ScriptName, { numberOfKeys: number; run: ScriptCommand }>();

  /** Registers every script on `redis` (idempotent per connection). */
  constructor(redis: Redis) {
    for (const definition of scriptDefinitions().values()) {
      redis.defineCommand(definition.name, { numberOfKeys: definition.numberOfKeys, lua: definition.lua });
      const command = (redis as unknown as Record<string, ScriptCommand>)[definition.name];
      if (!command) throw new Error(`ioredis did not define script ${definition.name}`);
      this.commands.set(definition.name, { numberOfKeys: definition.numberOfKeys, run: command.bind(redis) });
    }
  }

  /**
   * Runs `name`. Keys and arguments travel as one array, which ioredis
   * flattens, so a 100k-argument commit never becomes a 100k-parameter call.
   */
  run(name: ScriptName, keys: readonly string[], args: readonly ScriptArg[]): Promise<unknown> {
    const command = this.commands.get(name);
    if (!command) throw new Error(`Unknown Redis script ${name}`);
    if (keys.length !== command.numberOfKeys) {
      throw new Error(`Redis script ${name} takes ${command.numberOfKeys} keys, got ${keys.length}`);
    }
    return command.run((keys as readonly ScriptArg[]).concat(args));
  }
}
