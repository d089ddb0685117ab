/**
 * When and where the agent reconnects: exponential backoff with jitter (so a
 * fleet of agents does not stampede a restarted controller), capped, and a
 * rotation through the controllers it was given.
 */

/** Reconnect delays, in ms. */
export interface BackoffPolicy {
  /** Delay before the first retry. Default 250. */
  readonly initialMs: number;
  /** Ceiling of any delay. Default 10 000. */
  readonly maxMs: number;
  /** Growth per consecutive failure. Default 2. */
  readonly factor: number;
}

/** The defaults documented on {@link BackoffPolicy}. */
export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 10_000, factor: 2 };

/**
 * Delay before retry number `failures` (1 = first retry): `initial × factor^(n-1)`,
 * capped at `maxMs`, then "equal jitter" — a random point in the upper half — so
 * retries spread out yet never collapse to zero.
 */
export function backoffDelayMs(failures: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const exponent = Math.max(0, failures - 1);
  const ceiling = Math.min(policy.maxMs, policy.initialMs * policy.factor ** exponent);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * Parses `--controller` text: one `HOST:PORT` or a comma list of them
 * (`[v6]:PORT` for IPv6).
 *
 * @throws TypeError naming the entry that is not `HOST:PORT`.
 */
export function parseControllerTargets(text: string): string[] {
  const targets = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (targets.length === 0) throw new TypeError('expected at least one controller as HOST:PORT');
  for (const target of targets) {
    const match = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(target);
    const port = Number(match?.[2]);
    if (match === null || port < 1 || port > 65535) throw new TypeError(`expected HOST:PORT, got '${target}'`);
  }
  return targets;
}

/** Round-robin over the controllers; each failure or lost stream moves to the next. */
export class ControllerRotation {
  private readonly targets: readonly string[];
  private position = 0;

  constructor(targets: readonly string[]) {
    if (targets.length === 0) throw new TypeError('at least one controller target is required');
    this.targets = targets;
  }

  get current(): string {
    return this.targets[this.position % this.targets.length] as string;
  }

  advance(): void {
    this.position = (this.position + 1) % this.targets.length;
  }
}
