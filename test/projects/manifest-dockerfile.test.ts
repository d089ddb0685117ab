import t from 'tap';
import { checkManifestReferences, parseManifest, planBuild, type PlanBuildInput, type ProjectManifest, type TarballIndex } from '../../src/projects/index.js';

const minimal = { version: 1, runtime: { kind: 'oci', sandbox: 'gvisor', workdir: '/workspace' }, entrypoint: { command: ['python', 'job.py'] } };
const parse = (value: unknown) => parseManifest(Buffer.from(JSON.stringify(value)));
const failure = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error as { code: string; message: string; details: { issues?: { path: string }[] } };
  }
  throw new Error('expected a failure');
};
const tarball = (files: string[], directories: string[] = [], symlinks: string[] = []): TarballIndex => ({
  files: new Set(files),
  directories: new Set(directories),
  symlinks: new Set(symlinks),
});

t.test('the reference minimal manifest parses with defaults filled in', async (t) => {
  const { manifest, warnings } = parse(minimal);
  t.same(warnings, []);
  t.equal(manifest.runtime.sandbox, 'gvisor');
  t.same(manifest.build, { context: '.', args: {} });
  t.same(manifest.validation, { executables: [], files: [], commands: [] });
  t.same(manifest.runtime.init.commands, []);
});

t.test('the agent sandboxes bwrap and nsjail are accepted too', async (t) => {
  for (const sandbox of ['bwrap', 'nsjail']) t.equal(parse({ ...minimal, runtime: { ...minimal.runtime, sandbox } }).manifest.runtime.sandbox, sandbox);
});

t.test('unknown keys are ignored with a warning naming them', async (t) => {
  const { warnings } = parse({ ...minimal, env: { A: '1' }, runtime: { ...minimal.runtime, services: [{ name: 'svc', command: ['python', '-m', 'svc'], ports: [80] }] } });
  t.same(warnings, ['computalot.project.json: unknown key "runtime.services[0].ports" ignored', 'computalot.project.json: unknown key "env" ignored']);
});

t.test('schema violations are invalid_manifest naming the path', async (t) => {
  const cases: [string, unknown, string][] = [
    ['version 2', { ...minimal, version: 2 }, 'version: must be 1'],
    ['missing version', { runtime: minimal.runtime, entrypoint: minimal.entrypoint }, 'version: is required'],
    ['kind', { ...minimal, runtime: { ...minimal.runtime, kind: 'vm' } }, "runtime.kind: must be 'oci'"],
    ['sandbox', { ...minimal, runtime: { ...minimal.runtime, sandbox: 'docker' } }, 'runtime.sandbox: expected one of'],
    ['relative workdir', { ...minimal, runtime: { ...minimal.runtime, workdir: 'workspace' } }, 'runtime.workdir: must be an absolute path'],
    ['empty entrypoint', { ...minimal, entrypoint: { command: [] } }, 'entrypoint.command: expected a non-empty array'],
    ['non-string argv', { ...minimal, entrypoint: { command: ['python', 3] } }, 'entrypoint.command[1]:'],
    ['init command cwd type', { ...minimal, runtime: { ...minimal.runtime, init: { commands: [{ command: ['uv', 'sync'], cwd: 5 }] } } }, 'runtime.init.commands[0].cwd:'],
    ['service restart', { ...minimal, runtime: { ...minimal.runtime, services: [{ name: 's', command: ['x'], restart: 'sometimes' }] } }, 'runtime.services[0].restart:'],
    ['data source', { ...minimal, data_sources: [{ name: 'm', source: 's3', repo: 'a/b' }] }, 'data_sources[0].source:'],
    ['duplicate cache mount', { ...minimal, cache_mounts: [{ name: 'hf' }, { name: 'hf' }] }, 'cache_mounts[1].name: duplicate name "hf"'],
  ];
  for (const [name, value, message] of cases) {
    const error = failure(() => parse(value));
    t.equal(error.code, 'invalid_manifest', name);
    t.ok(error.message.startsWith(message), `${name}: ${error.message}`);
  }
  t.match(failure(() => parseManifest(undefined)), { message: /computalot\.project\.json is missing/ });
  t.match(failure(() => parseManifest(Buffer.from('{nope'))), { message: /not valid JSON/ });
});

t.test('reference checks name every missing file, directory, build input and cache mount', async (t) => {
  const { manifest } = parse({
    ...minimal,
    runtime: {
      ...minimal.runtime,
      init: { commands: [{ label: 'sync', command: ['uv', 'sync'], cwd: 'app', cache_mounts: ['pip'] }, { command: ['true'], cwd: 'nope' }] },
      services: [{ name: 'emb', command: ['python', '-m', 'emb'], cwd: '/workspace/svc', cache_mounts: ['hf'] }],
    },
    validation: { files: ['job.py', 'missing.py', '/workspace/app/main.py', '/usr/bin/python3'] },
    data_sources: [{ name: 'base', source: 'huggingface', repo: 'org/model', delivery: 'download', cache_mount: 'models' }],
    cache_mounts: [{ name: 'hf', path: '/cache/hf' }],
    build: { dockerfile: 'docker/Dockerfile.gpu', context: 'src' },
  });
  const issues = checkManifestReferences(manifest, tarball(['job.py', 'app/main.py', 'Dockerfile'], ['app']));
  t.same(
    issues.map((i) => `${i.path}: ${i.problem}`),
    [
      'build.dockerfile: "docker/Dockerfile.gpu" is not in the tarball',
      'build.context: "src" is not a directory in the tarball',
      'validation.files[1]: "missing.py" is not in the tarball',
      'runtime.init.commands[0].cache_mounts[0]: cache mount "pip" is not declared in cache_mounts',
      'runtime.init.commands[1].cwd: working directory "nope" is not a directory in the tarball',
      'runtime.services[0].cwd: working directory "/workspace/svc" is not a directory in the tarball',
      'data_sources[0].cache_mount: cache mount "models" is not declared in cache_mounts',
    ],
  );
  const noDockerfile = checkManifestReferences(parse(minimal).manifest, tarball(['job.py']));
  t.same(noDockerfile, [{ path: 'build.dockerfile', problem: 'not set and there is no Dockerfile at the tarball root' }]);
  t.same(checkManifestReferences(parse({ ...minimal, validation: { files: ['../etc/passwd'] } }).manifest, tarball(['Dockerfile'])).map((i) => i.path), ['validation.files[0]']);
});

const files = tarball(['Dockerfile', 'requirements.txt', 'job.py', 'src/a.py', 'src/b.py', 'conf/app.toml'], ['src', 'conf']);
const plan = (text: string, extra: Partial<PlanBuildInput> = {}) => planBuild({ file: 'Dockerfile', text, context: '.', args: {}, tarball: files, ...extra });

t.test('the reference Dockerfiles plan as documented', async (t) => {
  const journey = plan('FROM python:3.11-slim\nWORKDIR /workspace\nCOPY . .\n').plan;
  t.equal(journey.base_image, 'python:3.11-slim');
  t.equal(journey.workdir, '/workspace');
  t.same(journey.steps, [
    { kind: 'workdir', line: 2, path: '/workspace' },
    { kind: 'copy', line: 3, sources: ['.'], dest: '/workspace/' },
  ]);
  const withDeps = plan('FROM python:3.11-slim\nWORKDIR /workspace\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\nCOPY . .\n').plan;
  t.same(withDeps.steps[2], { kind: 'run', line: 4, argv: ['/bin/sh', '-c', 'pip install -r requirements.txt'], workdir: '/workspace', env: {} });
});

t.test('continuations, comments, JSON form, ARG/ENV, multi-stage target', async (t) => {
  const text = [
    '# syntax=docker/dockerfile:1',
    'ARG PY=3.10',
    'FROM python:${PY}-slim AS base',
    'ARG PY',
    'ENV APP_HOME=/srv/app \\',
    '    # a comment inside a continuation',
    '    MODE="fast mode"',
    'ENV LEGACY value with spaces',
    'WORKDIR $APP_HOME',
    'COPY src/*.py ./lib/',
    'RUN ["python", "-c", "print(1)"]',
    'LABEL org=example',
    'FROM base AS runtime',
    'ARG EXTRA=${PY:-none}',
    'RUN echo $EXTRA \\',
    '  && echo done',
    'CMD ["python", "job.py"]',
    'FROM alpine AS unused',
  ].join('\n');
  const { plan: built, warnings } = plan(text, { target: 'runtime', args: { PY: '3.11', UNUSED: 'x' } });
  t.equal(built.base_image, 'python:3.11-slim', 'build.args override the global ARG used in FROM');
  t.equal(built.stage, 'runtime');
  t.same(built.env, { APP_HOME: '/srv/app', MODE: 'fast mode', LEGACY: 'value with spaces' });
  t.equal(built.workdir, '/srv/app');
  t.same(built.args, { EXTRA: 'none' }, 'ARGs do not carry across stages');
  t.same(built.steps.map((s) => s.kind), ['workdir', 'copy', 'run', 'run']);
  t.same(built.steps[1], { kind: 'copy', line: 10, sources: ['src/a.py', 'src/b.py'], dest: '/srv/app/lib/' });
  t.same(built.steps[2], { kind: 'run', line: 11, argv: ['python', '-c', 'print(1)'], workdir: '/srv/app', env: { PY: '3.11', APP_HOME: '/srv/app', MODE: 'fast mode', LEGACY: 'value with spaces' } });
  t.same((built.steps[3] as { argv: string[] }).argv, ['/bin/sh', '-c', 'echo $EXTRA    && echo done']);
  t.same(built.ignored.map((i) => i.instruction), ['LABEL', 'CMD']);
  t.ok(warnings.some((w) => w.includes('LABEL ignored')));
  t.ok(warnings.includes('build.args.UNUSED is not declared by any ARG in Dockerfile'));
  t.equal(plan(text).plan.stage, 'unused', 'without a target the last stage is built');
});

t.test('unsupported instructions are 422s naming the line', async (t) => {
  const cases: [string, string, string][] = [
    ['USER', 'FROM x\nUSER app', 'Dockerfile:2: USER is not supported'],
    ['VOLUME', 'FROM x\nVOLUME /data', 'Dockerfile:2: VOLUME is not supported'],
    ['COPY --from', 'FROM x AS a\nFROM y\nCOPY --from=a /out /out', 'Dockerfile:3: COPY --from is not supported'],
    ['missing COPY source', 'FROM x\nCOPY missing.txt /app/', 'Dockerfile:2: source "missing.txt" is not in the tarball'],
    ['COPY escaping context', 'FROM x\nCOPY ../secret /app/', 'Dockerfile:2: source "../secret" is outside the build context'],
    ['ADD URL', 'FROM x\nADD https://example.com/a.tgz /app/', 'Dockerfile:2: ADD from a URL'],
    ['ADD archive', 'FROM x\nADD job.tar.gz /app/', 'Dockerfile:2: ADD of an archive'],
    ['RUN --mount', 'FROM x\nRUN --mount=type=cache,target=/root/.cache pip install x', 'Dockerfile:2: RUN --mount=type=cache,target=/root/.cache is not supported'],
    ['heredoc', 'FROM x\nRUN <<EOF\necho hi\nEOF', 'Dockerfile:2: heredocs are not supported'],
    ['before FROM', 'WORKDIR /x\nFROM y', 'Dockerfile:1: WORKDIR before the first FROM'],
    ['no FROM', '# only a comment\n', 'Dockerfile:1: no FROM instruction'],
    ['unknown', 'FROM x\nFROBNICATE now', 'Dockerfile:2: unknown or unsupported instruction FROBNICATE'],
    ['several sources to a file', 'FROM x\nCOPY job.py requirements.txt /app', 'Dockerfile:2: with several sources'],
  ];
  for (const [name, text, message] of cases) {
    const error = failure(() => plan(text));
    t.equal(error.code, 'invalid_dockerfile', name);
    t.ok(error.message.startsWith(message), `${name}: ${error.message}`);
  }
  const target = failure(() => plan('FROM x AS a\n', { target: 'nope' }));
  t.match(target, { code: 'invalid_manifest', message: /^build\.target: "nope" is not a stage of Dockerfile \(stages: a\)/ });
});

t.test('typed manifest flows into planBuild', async (t) => {
  const manifest: ProjectManifest = parse({ ...minimal, build: { context: 'src' } }).manifest;
  const built = plan('FROM x\nCOPY . /app/\nCOPY a.py /app/a.py', { context: manifest.build.context });
  t.same(built.plan.steps.map((s) => (s.kind === 'copy' ? s.sources : [])), [['src'], ['src/a.py']]);
});
