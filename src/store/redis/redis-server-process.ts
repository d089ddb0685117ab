import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface RedisServerOptions {
  /** Directory for the socket, AOF and logs. */
  readonly dir: string;
  /** AOF with fsync every second (production durability, GOTCHAS.md); off = pure memory. */
  readonly durable?: boolean;
  /** Path of the binary; default `redis-server` from PATH (Debian's package). */
  readonly binary?: string;
}

export interface RedisServerProcess {
  /** Unix socket path clients connect to. */
  readonly path: string;
  readonly pid: number | undefined;
  /** Graceful shutdown (SIGTERM), waits for exit. */
  stop(): Promise<void>;
  /** SIGKILL, waits for exit: what a crash looks like. */
  kill9(): Promise<void>;
}

/**
 * Starts a private `redis-server` on a unix socket and no TCP port, for
 * `computalot cluster up`, benches and tests. Resolves when the socket exists.
 */
export async function startRedisServerProcess(options: RedisServerOptions): Promise<RedisServerProcess> {
  await mkdir(options.dir, { recursive: true });
  const path = join(options.dir, 'redis.sock');
  const args = ['--port', '0', '--unixsocket', path, '--unixsocketperm', '700', '--dir', options.dir, '--save', '', '--maxmemory-policy', 'noeviction'];
  args.push(...(options.durable ? ['--appendonly', 'yes', '--appendfsync', 'everysec'] : ['--appendonly', 'no']));
  const child = spawn(options.binary ?? 'redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.once('error', (error) => (stderr += `${error.message}\n`));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitForSocket(path, child, () => stderr);
  const signal = async (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    await exited;
  };
  return { path, pid: child.pid, stop: () => signal('SIGTERM'), kill9: () => signal('SIGKILL') };
}

async function waitForSocket(path: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || (child.pid === undefined && stderr() !== '')) throw new Error(`redis-server exited with ${child.exitCode}: ${stderr()}`);
    try {
      await access(path);
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`redis-server did not create ${path} within 10 s: ${stderr()}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}
