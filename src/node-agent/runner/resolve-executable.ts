/**
 * Resolves a runner command's executable name to a real binary, once per node.
 *
 * Version-manager shims (pyenv, rbenv, asdf) are shell scripts that cost ~170 ms
 * per launch and need the manager's own files, which the sandbox does not mount.
 * Python is therefore asked once where it really lives (`sys.executable`,
 * `sys.base_prefix`); other tools are found on PATH with `.../shims` directories
 * skipped. `python` and `python3` are one interpreter: a node with only `python3`
 * serves `python` too. A project's own `.venv/bin/<name>` wins over the node's.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { findOnPath } from '../sandbox/probe.js';
import { DEFAULT_RUNTIME_PATHS, isWithin } from '../sandbox/mounts.js';
import type { AllowedExecutable } from './allowed-executables.js';
import { ExecutableNotFoundError } from './errors.js';

const execFileAsync = promisify(execFile);

/** A runnable binary and what must be mounted for it to work. */
export interface ResolvedExecutable {
  readonly name: string;
  /** Absolute path to exec (real path; a venv's `bin/python` is kept as is, its location matters). */
  readonly path: string;
  /** Install prefixes outside the default runtime that the sandbox must mount read-only. */
  readonly runtimePaths: readonly string[];
  /** Directory to put first on PATH so nested calls (`python3 -m pip`) find the same tool. */
  readonly binDir: string;
}

const PYTHON_NAMES = new Set(['python', 'python3']);
const PROBE = 'import sys, json; print(json.dumps([sys.executable, sys.base_prefix]))';

function outsideDefaultRuntime(path: string): boolean {
  return !DEFAULT_RUNTIME_PATHS.some((root) => isWithin(path, root));
}

/** `<prefix>` for `<prefix>/bin/<tool>`, when that prefix is not already mounted. */
function prefixOf(realPath: string): string[] {
  const prefix = dirname(dirname(realPath));
  return outsideDefaultRuntime(realPath) && prefix !== '/' ? [prefix] : [];
}

/** Per-node cache of resolved executables (create one per agent). */
export class ExecutableResolver {
  private readonly cache = new Map<string, Promise<ResolvedExecutable>>();

  /** @param searchPath PATH to search; default the agent's own. */
  constructor(private readonly searchPath = process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin') {}

  /** Resolves `name` for a project (checks `<project>/.venv/bin` first, uncached). */
  async resolve(name: AllowedExecutable, projectDir?: string): Promise<ResolvedExecutable> {
    if (projectDir !== undefined) {
      const venv = this.fromVenv(name, projectDir);
      if (venv !== undefined) return venv;
    }
    const key = PYTHON_NAMES.has(name) ? 'python' : name;
    let entry = this.cache.get(key);
    if (entry === undefined) {
      entry = PYTHON_NAMES.has(name) ? this.resolvePython() : this.resolveTool(name);
      // A failed lookup is not cached: the tool may be installed later.
      entry.catch(() => this.cache.delete(key));
      this.cache.set(key, entry);
    }
    const resolved = await entry;
    return { ...resolved, name };
  }

  private fromVenv(name: AllowedExecutable, projectDir: string): ResolvedExecutable | undefined {
    const bin = join(projectDir, '.venv', 'bin');
    const candidates = PYTHON_NAMES.has(name) ? [name, name === 'python' ? 'python3' : 'python'] : [name];
    const found = candidates.map((c) => join(bin, c)).find((p) => existsSync(p));
    if (found === undefined) return undefined;
    // The venv's interpreter symlinks into its base install (`home` in pyvenv.cfg).
    const runtimePaths: string[] = [];
    try {
      runtimePaths.push(...prefixOf(realpathSync(found)));
      const home = /^home\s*=\s*(.+)$/m.exec(readFileSync(join(projectDir, '.venv', 'pyvenv.cfg'), 'utf8'))?.[1]?.trim();
      if (home !== undefined && outsideDefaultRuntime(home)) runtimePaths.push(dirname(home));
    } catch {
      // No pyvenv.cfg (not a Python venv): the realpath prefix is all we know.
    }
    return { name, path: found, runtimePaths, binDir: bin };
  }

  private async resolvePython(): Promise<ResolvedExecutable> {
    for (const candidate of ['python3', 'python']) {
      const onPath = findOnPath(candidate, this.searchPath);
      if (onPath === undefined) continue;
      try {
        // Through the shim exactly once; the answer is the real interpreter.
        const { stdout } = await execFileAsync(onPath, ['-c', PROBE], { timeout: 15_000, env: { ...process.env, PATH: this.searchPath } });
        const [executable, basePrefix] = JSON.parse(stdout.trim()) as [string, string];
        const real = realpathSync(executable);
        const runtimePaths = outsideDefaultRuntime(real) ? [basePrefix] : [];
        return { name: candidate, path: real, runtimePaths, binDir: dirname(executable) };
      } catch {
        continue;
      }
    }
    throw new ExecutableNotFoundError('python3', 'no working python3 or python on this node');
  }

  private async resolveTool(name: string): Promise<ResolvedExecutable> {
    if (name === 'pip' || name === 'uv') {
      // Python tools belong to the interpreter `python3` resolves to, not to whatever
      // other install happens to be earlier on PATH.
      const python = await this.resolve('python3').catch(() => undefined);
      const beside = python === undefined ? undefined : [join(python.binDir, name), join(dirname(python.path), name)].find((p) => existsSync(p));
      if (python !== undefined && beside !== undefined) return { name, path: beside, runtimePaths: python.runtimePaths, binDir: dirname(beside) };
    }
    const dirs = this.searchPath.split(':').filter((d) => d !== '' && !/\/shims\/?$/.test(d));
    const found = findOnPath(name, dirs.join(':'));
    if (found === undefined) throw new ExecutableNotFoundError(name, `"${name}" is not installed on this node`);
    const real = realpathSync(found);
    return { name, path: real, runtimePaths: prefixOf(real), binDir: dirname(found) };
  }
}
