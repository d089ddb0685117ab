/**
 * The worker side of bench/e2e-noop, in its own process (so the controller's
 * event loop is not shared with it):
 *
 *   node --import tsx bench/e2e-noop-agent.ts agent <grpc HOST:PORT> <slots>
 *     a real NodeAgent over real gRPC whose executor does nothing (started,
 *     exit 0, result `{}`) and whose preparer is ready at once; prints
 *     `registered <workerId>` once registered.
 *
 *   node --import tsx bench/e2e-noop-agent.ts bullmq <redis socket> <queue> <concurrency> <n1,n2,…>
 *     a BullMQ Worker whose processor does nothing; prints `ready`, then
 *     `done <n>` as the number of completed jobs reaches each milestone n.
 *
 * Both stop on SIGTERM.
 */
import { pino } from 'pino';
import { Worker } from 'bullmq';
import { NodeAgent, type ProjectPreparer, type TaskExecutor } from '../src/node-agent/index.js';

const [mode, ...args] = process.argv.slice(2);

/** Does nothing, successfully. */
const noopExecutor: TaskExecutor = {
  execute: async (_dispatch, hooks) => {
    hooks.onStarted();
    return { exitCode: 0, resultJson: '{}', outputTail: '', errorTail: '', failureKind: '', runtimeMs: 0, artifactIds: [] };
  },
};

/** Every revision is ready at once. */
const readyPreparer: ProjectPreparer = { prepare: async () => ({ state: 'ready', message: '' }) };

async function runAgent(controller: string, slots: number): Promise<void> {
  const agent = new NodeAgent({
    controllers: [controller],
    // Tasks default to 1 CPU, 512 MB, 1 GB: `slots` of them fit at once.
    capacity: { cpu: slots, memoryMb: slots * 1024, storageGb: slots * 2, gpus: [], profile: 'cpu' },
    sandboxKinds: ['process'],
    executor: noopExecutor,
    preparer: readyPreparer,
    logger: pino({ level: 'error' }, pino.destination(2)),
    onRegistered: (info) => process.stdout.write(`registered ${info.workerId}\n`),
  });
  agent.start();
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  await agent.stop({ drainDeadlineMs: 1_000, deliveryDeadlineMs: 1_000 });
}

async function runBullmq(socket: string, queue: string, concurrency: number, milestones: ReadonlySet<number>): Promise<void> {
  let completed = 0;
  const worker = new Worker(queue, async () => undefined, { connection: { path: socket, maxRetriesPerRequest: null }, concurrency });
  worker.on('completed', () => {
    completed++;
    if (milestones.has(completed)) process.stdout.write(`done ${completed}\n`);
  });
  await worker.waitUntilReady();
  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  await worker.close();
}

if (mode === 'agent' && args[0] !== undefined) await runAgent(args[0], Number(args[1] ?? 128));
else if (mode === 'bullmq' && args.length === 4) await runBullmq(args[0] as string, args[1] as string, Number(args[2]), new Set(String(args[3]).split(',').map(Number)));
else {
  process.stderr.write('usage: e2e-noop-agent.ts agent <grpc HOST:PORT> <slots> | bullmq <redis socket> <queue> <concurrency> <n1,n2,…>\n');
  process.exitCode = 2;
}
