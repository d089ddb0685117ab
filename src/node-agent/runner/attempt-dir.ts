/**
 * The per-attempt directory on the node:
 *
 * ```
 * <workRoot>/<attemptId>/
 *   payload.json    → COMPUTALOT_TASK_PAYLOAD
 *   result.json     → COMPUTALOT_TASK_RESULT (written by the task)
 *   artifacts/      → COMPUTALOT_ARTIFACT_DIR
 *   scratch/        → COMPUTALOT_TASK_SCRATCH_DIR, TMPDIR, HOME
 *   work/           the task's cwd: a writable copy of the project tree
 * ```
 *
 * The prepared project tree stays read-only (it is a shared cache keyed by content
 * hash) and is mounted at its own path; the task runs in a private copy so it may
 * write next to its code without touching the cache or other attempts. The copy
 * uses reflinks where the filesystem has them and skips `.venv` — the venv is used
 * in place from the read-only tree, where its absolute shebangs point anyway.
 */
import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { cp, lstat, mkdir, open, readdir, rm, writeFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';

/** Paths of one attempt. */
export interface AttemptDir {
  readonly root: string;
  readonly payloadPath: string;
  readonly resultPath: string;
  readonly artifactDir: string;
  readonly scratchDir: string;
  readonly workDir: string;
}

/** A file the task left in its artifact directory. */
export interface ArtifactFile {
  /** Path relative to the artifact directory, `/`-separated. */
  readonly name: string;
  readonly path: string;
  readonly size: number;
  /** Lowercase hex SHA-256 of the content. */
  readonly sha256: string;
}

/** Directory names never copied into the work dir. */
const SKIPPED_IN_COPY = new Set(['.venv']);

/** Creates the attempt directory, writes the payload and copies the project tree. */
export async function createAttemptDir(workRoot: string, attemptId: string, payload: unknown, projectDir?: string): Promise<AttemptDir> {
  const safeId = attemptId.replace(/[^A-Za-z0-9_.-]/g, '_');
  const root = join(workRoot, safeId);
  const dir: AttemptDir = {
    root,
    payloadPath: join(root, 'payload.json'),
    resultPath: join(root, 'result.json'),
    artifactDir: join(root, 'artifacts'),
    scratchDir: join(root, 'scratch'),
    workDir: join(root, 'work'),
  };
  // A retried attempt id must not see its predecessor's result or artifacts.
  await rm(root, { recursive: true, force: true });
  await mkdir(dir.artifactDir, { recursive: true });
  await mkdir(dir.scratchDir, { recursive: true });
  if (projectDir === undefined) {
    await mkdir(dir.workDir, { recursive: true });
  } else {
    await cp(projectDir, dir.workDir, {
      recursive: true,
      mode: constants.COPYFILE_FICLONE,
      verbatimSymlinks: true,
      filter: (source) => !(SKIPPED_IN_COPY.has(basename(source)) && relative(projectDir, source) === basename(source)),
    });
  }
  await writeFile(dir.payloadPath, JSON.stringify(payload ?? null));
  return dir;
}

/** Removes an attempt directory once its outcome and artifacts are reported. */
export async function removeAttemptDir(dir: AttemptDir): Promise<void> {
  await rm(dir.root, { recursive: true, force: true });
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Lists regular files under the artifact directory. Symlinks are ignored, never
 * followed: a task could otherwise point one at a host file (`/etc/shadow`) and
 * have the agent upload it.
 */
export async function listArtifacts(artifactDir: string): Promise<ArtifactFile[]> {
  const files: ArtifactFile[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) {
        const stat = await lstat(path);
        files.push({ name: relative(artifactDir, path).split('\\').join('/'), path, size: stat.size, sha256: await sha256File(path) });
      }
    }
  };
  await walk(artifactDir);
  return files.sort((a, b) => a.name.localeCompare(b.name));
}

/** Largest result file read, bytes; a bigger one is a `result_invalid` failure. */
export const MAX_RESULT_BYTES = 16 * 1024 * 1024;

/** What the result file held. */
export type ResultRead = { readonly kind: 'missing' } | { readonly kind: 'ok'; readonly value: unknown } | { readonly kind: 'invalid'; readonly reason: string };

/**
 * Reads the task's result file without following a symlink (`O_NOFOLLOW`): the
 * task controls that path, and must not be able to make the agent read host files.
 */
export async function readResultFile(path: string): Promise<ResultRead> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'invalid', reason: code === 'ELOOP' ? 'result file is a symlink' : `cannot open result file: ${String(code)}` };
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return { kind: 'invalid', reason: 'result file is not a regular file' };
    if (stat.size > MAX_RESULT_BYTES) return { kind: 'invalid', reason: `result file is ${stat.size} bytes; the limit is ${MAX_RESULT_BYTES}` };
    const text = await handle.readFile('utf8');
    try {
      return { kind: 'ok', value: JSON.parse(text) as unknown };
    } catch (error) {
      return { kind: 'invalid', reason: `result file is not valid JSON: ${error instanceof Error ? error.message : String(error)}` };
    }
  } finally {
    await handle.close();
  }
}
