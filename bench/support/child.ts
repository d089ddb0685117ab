/** A bench helper process (`node --import tsx <script> …`) whose stdout lines the bench waits on. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface BenchChild {
  readonly process: ChildProcess;
  /** Resolves with the first line (already seen or still to come) matching `pattern`; rejects if the child exits first or after `timeoutMs`. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  /** SIGTERM, then waits for the exit (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

export function startBenchChild(script: string, args: readonly string[]): BenchChild {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      for (const wake of waiters) wake();
      resolve();
    }),
  );
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    for (const wake of waiters) wake();
  });

  const waitForLine = (pattern: RegExp, timeoutMs: number) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      let seen = 0;
      const timer = setTimeout(() => done(new Error(`${script}: no line matching ${pattern} within ${timeoutMs} ms`)), timeoutMs);
      const done = (error: Error | undefined, match?: RegExpExecArray) => {
        clearTimeout(timer);
        waiters.delete(check);
        if (match) resolve(match);
        else reject(error ?? new Error('no match'));
      };
      const check = () => {
        for (; seen < lines.length; seen++) {
          const match = pattern.exec(lines[seen] as string);
          if (match) return done(undefined, match);
        }
        if (exited) done(new Error(`${script} exited (code ${child.exitCode}) before printing a line matching ${pattern}`));
      };
      waiters.add(check);
      check();
    });

  const stop = async (graceMs = 5_000) => {
    if (!exited) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exit;
    clearTimeout(timer);
  };
  return { process: child, waitForLine, stop };
}
