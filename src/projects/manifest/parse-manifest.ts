/** Reads `computalot.project.json` text into a validated manifest plus warnings. */
import type { z } from 'zod';
import { InvalidManifestError, type ManifestIssue } from '../errors.js';
import { manifestSchema, unknownManifestKeys, type ProjectManifest } from './manifest-schema.js';

/** File name of the manifest, at the tarball root. */
export const MANIFEST_FILE = 'computalot.project.json';

/** Manifests larger than this are refused (they are configuration, not data). */
export const MAX_MANIFEST_BYTES = 256 * 1024;

/** A parsed manifest and the non-fatal remarks about it (unknown keys…). */
export interface ParsedManifest {
  readonly manifest: ProjectManifest;
  readonly warnings: string[];
}

/**
 * Parses and validates manifest bytes. Unknown keys are ignored with a warning;
 * everything else wrong is an {@link InvalidManifestError} naming the path.
 */
export function parseManifest(bytes: Buffer | undefined): ParsedManifest {
  if (bytes === undefined) throw new InvalidManifestError([{ path: '', problem: `${MANIFEST_FILE} is missing from the tarball root` }]);
  if (bytes.length > MAX_MANIFEST_BYTES) throw new InvalidManifestError([{ path: '', problem: `larger than ${MAX_MANIFEST_BYTES} bytes` }]);
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new InvalidManifestError([{ path: '', problem: `not valid JSON (${(error as Error).message})` }]);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new InvalidManifestError([{ path: '', problem: 'expected a JSON object' }]);
  const result = manifestSchema.safeParse(raw);
  if (!result.success) throw new InvalidManifestError(result.error.issues.map((issue) => toManifestIssue(issue, raw)));
  const warnings = unknownManifestKeys(raw).map((path) => `${MANIFEST_FILE}: unknown key "${path}" ignored`);
  return { manifest: result.data, warnings };
}

/** Formats a zod path as `runtime.init.commands[0].cwd`. */
export function formatManifestPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

function toManifestIssue(issue: z.core.$ZodIssue, raw: unknown): ManifestIssue {
  // A missing required key reads better as "is required" than zod's "expected string, received undefined".
  const missing = issue.path.length > 0 && valueAt(raw, issue.path) === undefined && issue.code !== 'custom';
  return { path: formatManifestPath(issue.path), problem: missing ? 'is required' : issue.message };
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let current = raw;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}
