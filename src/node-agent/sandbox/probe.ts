/**
 * Availability probes shared by backends: is a binary on PATH, and does a tiny
 * command succeed within a deadline (a sandbox that hangs must count as absent).
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

/** Finds `name` on `searchPath` (default: the agent's PATH), or undefined. */
export function findOnPath(name: string, searchPath = process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin'): string | undefined {
  if (name.includes('/')) return name;
  for (const dir of searchPath.split(':')) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      continue;
    }
  }
  return undefined;
}

/** Result of {@link runProbe}. */
export interface ProbeResult {
  readonly ok: boolean;
  readonly exitCode: number | null;
  readonly output: string;
  readonly ms: number;
}

/**
 * Runs `argv` with an empty environment and a hard deadline; `ok` when it exits 0.
 * The process group is SIGKILLed at the deadline so a hung launcher cannot linger.
 */
export function runProbe(argv: readonly string[], timeoutMs: number): Promise<ProbeResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const [file, ...args] = argv;
    if (file === undefined) {
      resolve({ ok: false, exitCode: null, output: 'empty argv', ms: 0 });
      return;
    }
    const child = spawn(file, args, { env: {}, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    const collect = (chunk: Buffer): void => {
      if (output.length < 4096) output += chunk.toString('utf8');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => {
      output += `\n(probe timed out after ${timeoutMs} ms)`;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ ok: false, exitCode: null, output: error.message, ms: performance.now() - started });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, exitCode: code, output: output.trim(), ms: performance.now() - started });
    });
  });
}

/**
 * "Can this backend run here?", asked of the host once per process and
 * cached, with the reason kept for logs and test skips. Backends extend it
 * and implement `probe()`, setting `reason` when they answer false.
 */
export abstract class ProbedAvailability {
  private probed: Promise<boolean> | undefined;
  protected reason: string | undefined;

  available(): Promise<boolean> {
    this.probed ??= this.probe();
    return this.probed;
  }

  unavailableReason(): string | undefined {
    return this.reason;
  }

  protected abstract probe(): Promise<boolean>;
}
