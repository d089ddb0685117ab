/**
 * Picks the sandbox backend for this node.
 *
 * Default order, strongest isolation first: gVisor > nsjail > bwrap > process.
 * gVisor puts a user-space kernel between untrusted project code and the host,
 * which namespaces alone (nsjail, bwrap) do not; its price here is ~0.6 s per
 * launch (measured, see docs/sandbox.md), small against tasks that run seconds to
 * hours. GPU tasks must skip it (`exclude: ['gvisor']`): Debian's runsc (2022) has
 * no nvproxy. `process` is never chosen unless the config allows it
 * (`allow_unsandboxed`), and an explicit `preferred` backend never falls back.
 */
import { BwrapBackend } from './bwrap.js';
import { SandboxUnavailableError, UnsandboxedRefusedError } from './errors.js';
import { GvisorBackend, type GvisorOptions } from './gvisor.js';
import { NsjailBackend } from './nsjail.js';
import { ProcessBackend, type WarnOnce } from './process.js';
import { SANDBOX_KINDS, type SandboxBackend, type SandboxKind } from './sandbox.js';

/** The default preference order. */
export const DEFAULT_BACKEND_ORDER: readonly SandboxKind[] = SANDBOX_KINDS;

/** Options of {@link createSandboxBackends}. */
export interface CreateBackendsOptions {
  readonly gvisor?: GvisorOptions;
  /** Receives the unsandboxed warning; default `console.warn`. */
  readonly warn?: WarnOnce;
}

/** One instance of every backend, in {@link DEFAULT_BACKEND_ORDER}. */
export function createSandboxBackends(options: CreateBackendsOptions = {}): SandboxBackend[] {
  return [new GvisorBackend(options.gvisor), new NsjailBackend(), new BwrapBackend(), new ProcessBackend(options.warn)];
}

/** Options of {@link selectSandboxBackend}. */
export interface SelectBackendOptions {
  /** Use exactly this backend (config `sandbox: bwrap`); fails rather than falling back. */
  readonly preferred?: SandboxKind;
  /** Config `allow_unsandboxed`: permits the `process` backend. Default false. */
  readonly allowUnsandboxed?: boolean;
  /** Backends never to pick (e.g. `gvisor` for GPU tasks). */
  readonly exclude?: readonly SandboxKind[];
  /** Candidates; default {@link createSandboxBackends}. */
  readonly backends?: readonly SandboxBackend[];
}

/** The chosen backend and why the stronger ones were passed over. */
export interface BackendSelection {
  readonly backend: SandboxBackend;
  readonly skipped: readonly { readonly kind: SandboxKind; readonly reason: string }[];
}

/**
 * Chooses a backend. Throws {@link UnsandboxedRefusedError} when only `process` is
 * left and not allowed, {@link SandboxUnavailableError} when `preferred` is absent.
 */
export async function selectSandboxBackend(options: SelectBackendOptions = {}): Promise<BackendSelection> {
  const backends = options.backends ?? createSandboxBackends();
  const allowUnsandboxed = options.allowUnsandboxed ?? false;
  const byKind = (kind: SandboxKind): SandboxBackend | undefined => backends.find((b) => b.kind === kind);

  if (options.preferred !== undefined) {
    if (options.preferred === 'process' && !allowUnsandboxed) {
      throw new UnsandboxedRefusedError('sandbox "process" runs project code unisolated; set allow_unsandboxed to permit it');
    }
    const backend = byKind(options.preferred);
    if (backend === undefined || !(await backend.available())) {
      throw new SandboxUnavailableError(`sandbox backend "${options.preferred}" is not available: ${backend?.unavailableReason() ?? 'not configured'}`, {
        details: { backend: options.preferred },
      });
    }
    return { backend, skipped: [] };
  }

  const skipped: { kind: SandboxKind; reason: string }[] = [];
  for (const kind of DEFAULT_BACKEND_ORDER) {
    const backend = byKind(kind);
    if (backend === undefined) continue;
    if (options.exclude?.includes(kind) === true) {
      skipped.push({ kind, reason: 'excluded' });
      continue;
    }
    if (kind === 'process' && !allowUnsandboxed) {
      skipped.push({ kind, reason: 'allow_unsandboxed is false' });
      continue;
    }
    if (await backend.available()) return { backend, skipped };
    skipped.push({ kind, reason: backend.unavailableReason() ?? 'unavailable' });
  }
  throw new UnsandboxedRefusedError(`no sandbox backend is available on this node (${skipped.map((s) => `${s.kind}: ${s.reason}`).join('; ')})`, {
    details: { skipped },
  });
}
