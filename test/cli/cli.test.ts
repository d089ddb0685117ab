import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { main, type CliOutput } from '../../src/cli/main.js';
import { COMPUTALOT_VERSION } from '../../src/shared/version.js';

interface Captured extends CliOutput {
  out(): string;
  err(): string;
}

function capture(): Captured {
  let out = '';
  let err = '';
  return { stdout: (text) => (out += text), stderr: (text) => (err += text), out: () => out, err: () => err };
}

t.test('--help and --version', async (t) => {
  const help = capture();
  t.equal(await main(['--help'], help), 0);
  t.match(help.out(), /^Usage: computalot <command>/);
  t.match(help.out(), /dev\s+Run everything in one process/);
  t.match(help.out(), /controller\s+Run a controller/);

  const version = capture();
  t.equal(await main(['--version'], version), 0);
  t.equal(version.out(), `${COMPUTALOT_VERSION}\n`);

  const devHelp = capture();
  t.equal(await main(['dev', '--help'], devHelp), 0);
  t.match(devHelp.out(), 'Usage: computalot dev [--port N] [--data-dir DIR] [--shards N]');
});

t.test('bad usage exits 2 with the usage text', async (t) => {
  const none = capture();
  t.equal(await main([], none), 2);
  t.match(none.err(), 'Usage: computalot');

  const unknown = capture();
  t.equal(await main(['deploy'], unknown), 2);
  t.match(unknown.err(), /^computalot: unknown command 'deploy'\n\nUsage: computalot/);

  const badFlag = capture();
  t.equal(await main(['dev', '--prot', '1'], badFlag), 2);
  t.match(badFlag.err(), /^computalot dev: Unknown option '--prot'/);
  t.match(badFlag.err(), 'Usage: computalot dev');

  const missingValue = capture();
  t.equal(await main(['controller', '--config'], missingValue), 2);
  t.match(missingValue.err(), 'Usage: computalot controller');
});

t.test('configuration mistakes exit 1 naming the source and field', async (t) => {
  const missing = capture();
  t.equal(await main(['controller', '--config', '/nonexistent/cluster.yml'], missing), 1);
  t.equal(missing.err(), 'computalot controller: invalid configuration\n/nonexistent/cluster.yml: file not found\n');

  const badPort = capture();
  t.equal(await main(['dev', '--port', 'eighty'], badPort), 1);
  t.match(badPort.err(), 'command line: controller.http.port: expected a number between 0 and 65535');
});

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

t.test('computalot dev serves /live and /ready, then stops cleanly on SIGTERM', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'computalot-dev-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const child = spawn(process.execPath, [join(repoRoot, 'bin/computalot.js'), 'dev', '--port', '0', '--data-dir', dataDir, '--shards', '4'], {
    env: { ...process.env, COMPUTALOT_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /^Computalot listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(output);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    void exited.then((code) => reject(new Error(`exited with ${code} before listening:\n${output}`)));
  });
  t.not(url, 'http://127.0.0.1:0', 'prints the real port');

  const live = await fetch(`${url}/live`);
  t.equal(live.status, 200);
  let readyStatus = 0;
  for (let attempt = 0; attempt < 100 && readyStatus !== 200; attempt++) {
    readyStatus = (await fetch(`${url}/ready`)).status;
    if (readyStatus !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.equal(readyStatus, 200, 'ready once the shards are leased');

  child.kill('SIGTERM');
  t.equal(await exited, 0, `clean exit\n${output}`);
});
