/**
 * Launch overhead per sandbox backend: median wall time of `python3 -c pass`
 * through each available backend, against a plain spawn of the same real binary.
 * Prints figures; asserts nothing. `node --import tsx bench/sandbox-launch.ts [runs]`
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecutableResolver } from '../src/node-agent/runner/index.js';
import { createSandboxBackends, DEFAULT_RUNTIME_PATHS } from '../src/node-agent/sandbox/index.js';

const runs = Number(process.argv[2] ?? 10);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const python = await new ExecutableResolver().resolve('python3');
const dir = mkdtempSync(join(tmpdir(), 'computalot-bench-'));

const plain: number[] = [];
for (let i = 0; i < runs; i += 1) {
  const started = performance.now();
  spawnSync(python.path, ['-c', 'pass'], { env: {} });
  plain.push(performance.now() - started);
}
console.log(`plain spawn      ${median(plain).toFixed(1)} ms`);

for (const backend of createSandboxBackends({ warn: () => undefined })) {
  if (!(await backend.available())) {
    console.log(`${backend.kind.padEnd(16)} unavailable: ${backend.unavailableReason() ?? ''}`);
    continue;
  }
  const times: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const started = performance.now();
    const proc = backend.launch({
      argv: [python.path, '-c', 'pass'],
      cwd: dir,
      env: { PATH: '/usr/bin' },
      readOnlyPaths: [...DEFAULT_RUNTIME_PATHS, ...python.runtimePaths],
      writablePaths: [dir],
      limits: { memoryMb: 512, pids: 64 },
      hardTimeoutMs: 30_000,
    });
    proc.stdout.resume();
    proc.stderr.resume();
    await proc.wait();
    times.push(performance.now() - started);
  }
  const m = median(times);
  console.log(`${backend.kind.padEnd(16)} ${m.toFixed(1)} ms (+${(m - median(plain)).toFixed(1)} ms)`);
}
rmSync(dir, { recursive: true, force: true });
