/**
 * Which executables a `runner_command` may start (reference, "Runner Protocol"):
 * python, python3, node, deno, bun, ruby, julia, Rscript, uv, pip, npm, npx, cargo,
 * rustc. Shells are refused by name. The gateway uses {@link checkRunnerCommand}
 * for its 422 at submit; the runner checks again before launching.
 */

/** Executables a runner command may name, exactly as the reference lists them. */
export const ALLOWED_EXECUTABLES = ['python', 'python3', 'node', 'deno', 'bun', 'ruby', 'julia', 'Rscript', 'uv', 'pip', 'npm', 'npx', 'cargo', 'rustc'] as const;
export type AllowedExecutable = (typeof ALLOWED_EXECUTABLES)[number];

/** Shells and shell-launchers, named in refusals so the user learns why. */
export const BLOCKED_SHELLS: readonly string[] = ['sh', 'bash', 'zsh', 'dash', 'fish', 'ksh', 'mksh', 'tcsh', 'csh', 'ash', 'busybox', 'pwsh', 'powershell', 'nu', 'xonsh', 'env', 'sudo'];

const ALLOWED = new Set<string>(ALLOWED_EXECUTABLES);

/** Outcome of {@link checkRunnerCommand}. */
export type RunnerCommandCheck = { readonly ok: true; readonly executable: AllowedExecutable } | { readonly ok: false; readonly reason: string };

/**
 * Validates a runner command: a non-empty array of strings whose first element is
 * a bare allowed executable name (no path: `/bin/bash`, `./run` and `python3.11`
 * are refused, the node resolves the real binary itself).
 */
export function checkRunnerCommand(argv: unknown): RunnerCommandCheck {
  if (!Array.isArray(argv) || argv.length === 0) return { ok: false, reason: 'runner_command must be a non-empty array of strings' };
  const bad = argv.findIndex((a) => typeof a !== 'string' || a.includes('\0'));
  if (bad !== -1) return { ok: false, reason: `runner_command[${bad}] must be a string without NUL bytes` };
  const executable = argv[0] as string;
  const base = executable.split('/').pop() ?? executable;
  if (BLOCKED_SHELLS.includes(base)) {
    return { ok: false, reason: `shell executables are blocked: "${executable}"; run your script with an interpreter, e.g. ["python3", "main.py"]` };
  }
  if (executable.includes('/')) {
    return { ok: false, reason: `runner_command[0] must be a bare executable name, not a path: "${executable}"; allowed: ${ALLOWED_EXECUTABLES.join(', ')}` };
  }
  if (!ALLOWED.has(executable)) return { ok: false, reason: `executable "${executable}" is not allowed; allowed: ${ALLOWED_EXECUTABLES.join(', ')}` };
  return { ok: true, executable: executable as AllowedExecutable };
}
