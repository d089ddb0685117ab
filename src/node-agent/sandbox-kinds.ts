/**
 * Which sandbox backends the agent advertises in Register. The scheduler only
 * sends project code to a node that offers a real sandbox, so `process` (no
 * isolation) is advertised only when the operator allowed it explicitly.
 */
import { SANDBOX_KINDS, createSandboxBackends, selectSandboxBackend, type SandboxBackend, type SandboxKind } from './sandbox/index.js';

/** The `sandbox` setting of an agent: one backend, or `auto` for every available one. */
export type SandboxSetting = 'auto' | SandboxKind;

/** Options of {@link detectSandboxKinds}. */
export interface DetectSandboxKindsOptions {
  readonly setting: SandboxSetting;
  /** Config `allow_unsandboxed` / `--allow-unsandboxed`. */
  readonly allowUnsandboxed: boolean;
  /** Candidates; default one of each backend. */
  readonly backends?: readonly SandboxBackend[];
}

/**
 * The kinds to advertise, strongest first. With a named backend that backend
 * alone — and it must be available.
 *
 * @throws SandboxUnavailableError / UnsandboxedRefusedError for a named backend
 *   that is missing or not allowed.
 */
export async function detectSandboxKinds({ setting, allowUnsandboxed, backends = createSandboxBackends() }: DetectSandboxKindsOptions): Promise<SandboxKind[]> {
  if (setting !== 'auto') {
    const selection = await selectSandboxBackend({ preferred: setting, allowUnsandboxed, backends });
    return [selection.backend.kind];
  }
  const kinds: SandboxKind[] = [];
  for (const kind of SANDBOX_KINDS) {
    if (kind === 'process' && !allowUnsandboxed) continue;
    const backend = backends.find((candidate) => candidate.kind === kind);
    if (backend !== undefined && (await backend.available())) kinds.push(kind);
  }
  return kinds;
}
