/**
 * `callback_url` end to end on `computalot dev`: a job's end reaches a local
 * receiver (allowed through COMPUTALOT_WEBHOOK_ALLOWED_TARGETS) with the
 * documented body, and callback URLs into private or loopback space are
 * refused at submit with `callback_url_not_allowed`.
 */
import t from 'tap';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startComputalotProcess } from '../fixtures/controller-process.js';
import { packDirectory } from '../helpers/tarballs.js';
import { waitFor } from '../helpers/wait.js';

const RUNNER = `
import json, os
p = json.load(open(os.environ["COMPUTALOT_TASK_PAYLOAD"]))
print("webhook runner says hi", p["x"], flush=True)
json.dump({"doubled": p["x"] * 2}, open(os.environ["COMPUTALOT_TASK_RESULT"], "w"))
`;

interface Received {
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
}

t.test('callback_url: the controller POSTs the job.terminal body; private targets are refused at submit', async (t) => {
  const received: Received[] = [];
  const receiver = createServer((request, response) => {
    let text = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (text += chunk));
    request.on('end', () => {
      received.push({ url: request.url ?? '', headers: request.headers, body: JSON.parse(text) as Record<string, unknown> });
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
  const port = (receiver.address() as AddressInfo).port;

  const dataDir = await mkdtemp(join(tmpdir(), 'computalot-webhooks-'));
  const projectDir = await mkdtemp(join(tmpdir(), 'computalot-webhooks-project-'));
  t.teardown(() => Promise.all([rm(dataDir, { recursive: true, force: true }), rm(projectDir, { recursive: true, force: true })]));
  const dev = await startComputalotProcess(t, ['dev', '--port', '0', '--data-dir', dataDir, '--shards', '4'], {
    COMPUTALOT_LOG_LEVEL: 'warn',
    COMPUTALOT_WEBHOOK_ALLOWED_TARGETS: '127.0.0.1',
  });
  await waitFor('dev ready', () => dev.ready(), 20_000);
  const token = (await readFile(join(dataDir, 'dev-api-key'), 'utf8')).trim();
  const api = async (method: string, path: string, body?: unknown, raw?: Buffer) => {
    const response = await fetch(`${dev.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(raw || body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> & { error?: { code: string; message: string; details?: Record<string, unknown> } } };
  };
  await api('POST', '/api/v1/projects', { name: 'hooks', remote_dir: '/root/hooks' });
  const manifest = JSON.stringify({ version: 1, runtime: { kind: 'oci', sandbox: 'gvisor', workdir: '/workspace' }, entrypoint: { command: ['python', 'hook.py'] } });
  const push = await api('POST', '/api/v1/projects/hooks/push', undefined, packDirectory(projectDir, { Dockerfile: 'FROM python:3.11-slim\nWORKDIR /workspace\nCOPY . .\n', 'computalot.project.json': manifest, 'hook.py': RUNNER }));
  t.equal(push.status, 200, 'project pushed');

  // Refused at submit: the SSRF policy, with a stable code and the setting named.
  for (const url of ['http://10.1.2.3/hook', 'http://169.254.169.254/latest/meta-data/', `http://localhost:${port}/hook`, 'http://[::ffff:192.168.0.1]/']) {
    const refused = await api('POST', '/api/v1/jobs', { project: 'hooks', payload: { x: 1 }, callback_url: url });
    t.equal(refused.status, 422, `${url}: 422`);
    t.equal(refused.body.error?.code, 'callback_url_not_allowed', `${url}: machine-readable code`);
    t.match(refused.body.error?.message, /jobs\.webhooks\.allowed_targets/, `${url}: the message names the setting`);
    t.same(refused.body.error?.details, { field: 'callback_url' });
  }

  const callbackUrl = `http://127.0.0.1:${port}/hook?token=abc`;
  const submitted = await api('POST', '/api/v1/jobs', { project: 'hooks', payload: { x: 21 }, tags: ['e2e', 'hooks'], client_ref: 'client-7', callback_url: callbackUrl });
  t.equal(submitted.status, 201, `submitted: ${JSON.stringify(submitted.body).slice(0, 200)}`);
  const jobId = String(submitted.body.id);

  await waitFor('the webhook', () => received.length > 0, 90_000, 100);
  const job = (await api('GET', `/api/v1/jobs/${jobId}`)).body;
  const [hook] = received;
  t.equal(hook?.url, '/hook?token=abc', 'path and query as given');
  t.equal(hook?.headers['content-type'], 'application/json');
  t.match(hook?.headers['user-agent'], /^computalot-webhook\//);
  t.equal(hook?.headers['x-computalot-event'], 'job.terminal');
  t.match(hook?.headers['x-computalot-delivery'], /^whd_[0-9a-f]{32}$/);
  t.equal(hook?.headers['x-computalot-attempt'], '1');

  const body = hook?.body ?? {};
  t.equal(body.event, 'job.terminal');
  t.equal(body.job_id, jobId);
  t.equal(body.status, 'completed');
  t.equal(job.status, 'completed', 'the job agrees');
  t.equal(body.project, 'hooks');
  t.equal(body.type, 'structured_runner');
  t.match(body.output, /webhook runner says hi 21/, 'output holds what the runner printed');
  t.equal(body.error, null);
  t.same(body.tags, ['e2e', 'hooks']);
  t.equal(body.progress, 1, 'progress: finished / total');
  t.match(body.completed_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  t.equal(body.completed_at, job.completed_at, 'completed_at as the job shows it');
  t.equal(body.client_ref, 'client-7');
  t.same(body.tasks, { total: 1, finished: 1, succeeded: 1, failed: 0, cancelled: 0, timed_out: 0 });

  // Delivered means acknowledged: nothing more arrives.
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.equal(received.length, 1, 'one POST');
});
