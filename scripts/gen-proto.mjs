#!/usr/bin/env node
/**
 * Regenerates `src/gen/` from `proto/**\/*.proto` with ts-proto.
 *
 * Uses the `protoc` binary that the npm `protoc` package ships (it works offline,
 * unlike grpc-tools) and the `protoc-gen-ts_proto` plugin from node_modules. The
 * output directory is wiped first so a deleted .proto leaves no stale file behind;
 * CI runs this and fails when `git diff src/gen` is not empty.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const protoRoot = join(repoRoot, 'proto');
const outDir = join(repoRoot, 'src', 'gen');
const require = createRequire(import.meta.url);

/** Options proven end to end with grpc-js under NodeNext (see GOTCHAS.md). */
const TS_PROTO_OPTIONS = [
  'outputServices=grpc-js',
  'env=node',
  'esModuleInterop=true',
  'oneof=unions-value',
  'useOptionals=messages',
  'importSuffix=.js',
  // Our int64 fields are epoch ms and fencing tokens: far below 2^53.
  'forceLong=number',
].join(',');

/** The `protoc` package's launcher picks the right bundled binary for this platform. */
const protocLauncher = require.resolve('protoc/protoc.cjs');
const protocInclude = join(dirname(protocLauncher), 'include');
const plugin = join(repoRoot, 'node_modules', '.bin', process.platform === 'win32' ? 'protoc-gen-ts_proto.cmd' : 'protoc-gen-ts_proto');

/** Every .proto under `dir`, sorted so the output is the same on every machine. */
function listProtoFiles(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.proto'))
    .map((entry) => relative(protoRoot, join(entry.parentPath ?? entry.path, entry.name)))
    .sort();
}

const protoFiles = listProtoFiles(protoRoot);
if (protoFiles.length === 0) {
  console.error(`gen-proto: no .proto files under ${protoRoot}`);
  process.exit(1);
}

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });

const result = spawnSync(
  process.execPath,
  [
    protocLauncher,
    `--plugin=protoc-gen-ts_proto=${plugin}`,
    `--ts_proto_out=${outDir}`,
    `--ts_proto_opt=${TS_PROTO_OPTIONS}`,
    `--proto_path=${protoRoot}`,
    `--proto_path=${protocInclude}`,
    ...protoFiles,
  ],
  { cwd: repoRoot, stdio: 'inherit' },
);
if (result.error) throw result.error;
if (result.status !== 0) {
  console.error(`gen-proto: protoc exited with ${result.status ?? result.signal}`);
  process.exit(result.status ?? 1);
}
console.log(`gen-proto: ${protoFiles.length} file(s) → ${relative(repoRoot, outDir)}/`);
