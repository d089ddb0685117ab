/**
 * The software version, read once from package.json so there is one place to
 * bump it. Reported by `--version`, the liveness probes and agent registration.
 */
import { readFileSync } from 'node:fs';

function readPackageVersion(): string {
  const packageJson: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  const version = (packageJson as { version?: unknown }).version;
  if (typeof version !== 'string') throw new Error('package.json has no version');
  return version;
}

/** Semver of this build, e.g. `0.1.0`. */
export const COMPUTALOT_VERSION: string = readPackageVersion();
