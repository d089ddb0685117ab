import t from 'tap';
import { CapacityLedger } from '../../src/node-agent/capacity.js';
import { detectNvidiaGpus, parseNvidiaSmiGpus } from '../../src/node-agent/gpu-detect.js';
import { ProgressCoalescer, type ProgressBatch } from '../../src/node-agent/progress-coalescer.js';
import { ControllerRotation, backoffDelayMs, parseControllerTargets } from '../../src/node-agent/reconnect.js';

/** Captured from `nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader,nounits` on real hosts. */
const H200_NODE = `0, NVIDIA H200, 143771
1, NVIDIA H200, 143771
`;
const MIXED_NODE = `1, NVIDIA GeForce RTX 4090, 24564\r
0, NVIDIA A100-SXM4-80GB, 81920\r
2, Tesla T4, [N/A]\r
`;

t.test('nvidia-smi output parses into GPUs', async (t) => {
  t.same(parseNvidiaSmiGpus(H200_NODE), [
    { index: 0, name: 'NVIDIA H200', memoryMb: 143771 },
    { index: 1, name: 'NVIDIA H200', memoryMb: 143771 },
  ]);
  t.same(
    parseNvidiaSmiGpus(MIXED_NODE),
    [
      { index: 0, name: 'NVIDIA A100-SXM4-80GB', memoryMb: 81920 },
      { index: 1, name: 'NVIDIA GeForce RTX 4090', memoryMb: 24564 },
    ],
    'CRLF, sorted by index, unparsable memory skipped',
  );
  t.same(parseNvidiaSmiGpus('0, Weird, Name, With Commas, 1024\n'), [{ index: 0, name: 'Weird, Name, With Commas', memoryMb: 1024 }]);
  t.same(parseNvidiaSmiGpus('NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.\n'), []);
  t.same(parseNvidiaSmiGpus(''), []);

  const missing = await detectNvidiaGpus('/nonexistent/nvidia-smi');
  t.same(missing, { gpus: [], note: '/nonexistent/nvidia-smi not found' }, 'a missing binary means no GPUs');
});

t.test('backoff grows, is capped, and keeps jitter in the upper half', async (t) => {
  const policy = { initialMs: 100, maxMs: 1000, factor: 2 };
  t.equal(backoffDelayMs(1, policy, () => 0), 50);
  t.equal(backoffDelayMs(1, policy, () => 1), 100);
  t.equal(backoffDelayMs(3, policy, () => 1), 400);
  t.equal(backoffDelayMs(10, policy, () => 1), 1000, 'capped');
  t.equal(backoffDelayMs(10, policy, () => 0), 500, 'never below half the cap');
  const late = backoffDelayMs(50);
  t.ok(late >= 5_000 && late <= 10_000, `default policy caps at 10 s: ${late}`);
});

t.test('controller targets parse and rotate', async (t) => {
  t.same(parseControllerTargets('a:1, 10.0.0.2:50051,[::1]:7'), ['a:1', '10.0.0.2:50051', '[::1]:7']);
  t.throws(() => parseControllerTargets('nohost'), /expected HOST:PORT, got 'nohost'/);
  t.throws(() => parseControllerTargets('h:70000'), /expected HOST:PORT/);
  t.throws(() => parseControllerTargets(' , '), /at least one controller/);
  const rotation = new ControllerRotation(['a:1', 'b:2']);
  const seen = [rotation.current];
  rotation.advance();
  seen.push(rotation.current);
  rotation.advance();
  seen.push(rotation.current);
  t.same(seen, ['a:1', 'b:2', 'a:1']);
});

t.test('the capacity ledger reserves specific GPUs and reports what is free', async (t) => {
  const ledger = new CapacityLedger({
    cpu: 8,
    memoryMb: 16_384,
    storageGb: 100,
    profile: 'gpu',
    gpus: [
      { index: 0, name: 'small', memoryMb: 16_000 },
      { index: 1, name: 'big', memoryMb: 80_000 },
    ],
  });
  const big = ledger.reserve('a1', { cpu: 2, memoryMb: 4096, storageGb: 10, gpus: 1, gpuMemoryMb: 40_000 });
  t.same(big, { ok: true, gpuIndices: [1] }, 'the GPU with enough memory');
  t.same(ledger.reserve('a1', { cpu: 2, memoryMb: 4096, storageGb: 10, gpus: 1, gpuMemoryMb: 40_000 }), { ok: true, gpuIndices: [1] }, 'idempotent per attempt');
  const refused = ledger.reserve('a2', { cpu: 1, memoryMb: 1, storageGb: 0, gpus: 1, gpuMemoryMb: 40_000 });
  t.match(refused, { ok: false, shortfall: /gpus 1 \(≥ 40000 MiB\) > 0 free/ });
  t.same(ledger.free(), { cpu: 6, memoryMb: 12_288, storageGb: 90, profile: 'gpu', gpus: [{ index: 0, name: 'small', memoryMb: 16_000 }] });
  ledger.release('a1');
  t.equal(ledger.free().gpus.length, 2);
  t.same(ledger.reserve('cpu-only', undefined), { ok: true, gpuIndices: [] });
});

t.test('progress is coalesced: latest progress, all output, at most one batch per interval', async (t) => {
  let now = 1000;
  const batches: ProgressBatch[] = [];
  const coalescer = new ProgressCoalescer({ intervalMs: 60_000, maxOutputChars: 10, emit: (batch) => batches.push(batch), now: () => now });
  coalescer.addProgress('{"pct":10}');
  coalescer.addOutput('abc');
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, 5));
  t.same(batches, [{ progressJson: '{"pct":10}', outputChunk: 'abc' }], 'the first batch goes out at once');
  now += 100;
  coalescer.addProgress('{"pct":20}');
  coalescer.addProgress('{"pct":30}');
  coalescer.addOutput('0123456789');
  coalescer.addOutput('XY');
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(batches.length, 1, 'held back within the interval');
  coalescer.flush();
  t.same(batches[1], { progressJson: '{"pct":30}', outputChunk: '[… 2 characters of output dropped …]\n23456789XY' });
  coalescer.flush();
  t.equal(batches.length, 2, 'nothing pending, nothing sent');
  coalescer.dispose();
});
