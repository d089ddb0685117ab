/**
 * zod schema of `computalot.project.json` (docs/projects.md, spec/manifest.md
 * §3–4 and §7). Objects strip unknown keys; `unknownManifestKeys` reports them
 * as push warnings so newer manifests stay pushable.
 */
import { z } from 'zod';

/** Sandboxes a project may ask for: the documented `gvisor` plus the other kinds our agents run. */
export const MANIFEST_SANDBOXES = ['gvisor', 'bwrap', 'nsjail'] as const;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ITEM_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

const argv = z
  .array(z.string({ error: 'expected a string' }), { error: 'expected a non-empty array of strings (argv)' })
  .min(1, { error: 'expected a non-empty array of strings (argv)' })
  .refine((args) => args[0] !== '', { error: 'the program (first element) must not be empty' });

const envMap = z.record(z.string().regex(ENV_NAME, { error: 'environment variable names are letters, digits and _' }), z.string(), {
  error: 'expected an object of string values',
});

const absolutePath = z.string({ error: 'expected an absolute path' }).regex(/^\/(?!.*(^|\/)\.\.(\/|$))/, { error: 'must be an absolute path without ".."' });
const dirPath = z.string({ error: 'expected a path' }).min(1, { error: 'expected a path' });
const itemName = (what: string) => z.string({ error: `expected a ${what} name` }).regex(ITEM_NAME, { error: `a ${what} name is lower-case letters, digits, '_' or '-' (at most 63)` });
const cacheRefs = z.array(itemName('cache mount')).optional().describe('Names of `cache_mounts` this command uses.');

const commandSchema = z.object({
  label: z.string().optional(),
  command: argv,
  cwd: dirPath.optional(),
  env: envMap.optional(),
  cache_mounts: cacheRefs,
});

const serviceSchema = z.object({
  name: itemName('service'),
  command: argv,
  scope: z.enum(['project', 'task'], { error: "expected 'project' or 'task'" }).default('task'),
  restart: z.enum(['never', 'on_failure', 'always'], { error: "expected 'never', 'on_failure' or 'always'" }).default('never'),
  cwd: dirPath.optional(),
  env: envMap.optional(),
  ready_timeout_s: z.number().positive({ error: 'expected a positive number of seconds' }).max(3600).default(60),
  healthcheck: z.object({ command: argv }).optional(),
  cache_mounts: cacheRefs,
});

const dataSourceSchema = z.object({
  name: itemName('data source'),
  source: z.enum(['huggingface'], { error: "expected 'huggingface' (the only supported source)" }),
  repo: z.string().regex(/^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/, { error: 'expected a Hugging Face repo id like org/name' }),
  repo_type: z.enum(['model', 'dataset'], { error: "expected 'model' or 'dataset'" }).default('model'),
  revision: z.string().min(1).default('main'),
  delivery: z.enum(['mount', 'download'], { error: "expected 'mount' or 'download'" }).default('mount'),
  path: absolutePath.optional(),
  env: z.string().regex(ENV_NAME, { error: 'expected an environment variable name' }).optional(),
  cache_mount: itemName('cache mount').optional().describe("Where a 'download' delivery is kept between tasks."),
});

const cacheMountSchema = z.object({
  name: itemName('cache mount'),
  path: absolutePath.optional(),
  env: z.string().regex(ENV_NAME, { error: 'expected an environment variable name' }).optional(),
});

const uniqueNames = <T extends { readonly name: string }>(items: readonly T[], ctx: z.RefinementCtx): void => {
  const seen = new Set<string>();
  items.forEach((item, index) => {
    if (seen.has(item.name)) ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `duplicate name "${item.name}"` });
    seen.add(item.name);
  });
};

/** The manifest after validation, defaults filled in. */
export const manifestSchema = z.object({
  version: z.literal(1, { error: 'must be 1' }),
  runtime: z.object({
    kind: z.literal('oci', { error: "must be 'oci'" }),
    sandbox: z.enum(MANIFEST_SANDBOXES, { error: `expected one of ${MANIFEST_SANDBOXES.map((s) => `'${s}'`).join(', ')}` }),
    workdir: absolutePath,
    init: z.object({ commands: z.array(commandSchema).default([]) }).default({ commands: [] }),
    services: z.array(serviceSchema).default([]).superRefine(uniqueNames),
  }),
  entrypoint: z.object({ command: argv }),
  build: z
    .object({
      dockerfile: z.string().min(1).optional(),
      context: z.string().min(1).default('.'),
      target: z.string().min(1).optional(),
      args: z.record(z.string(), z.string(), { error: 'expected an object of string values' }).default({}),
    })
    .default({ context: '.', args: {} }),
  validation: z
    .object({
      executables: z.array(z.string().min(1)).default([]),
      files: z.array(z.string().min(1)).default([]),
      commands: z.array(z.object({ label: z.string().optional(), command: argv })).default([]),
    })
    .default({ executables: [], files: [], commands: [] }),
  data_sources: z.array(dataSourceSchema).default([]).superRefine(uniqueNames),
  cache_mounts: z.array(cacheMountSchema).default([]).superRefine(uniqueNames),
});

/** A validated manifest. */
export type ProjectManifest = z.output<typeof manifestSchema>;

/**
 * Dotted paths of keys the schema does not know (`foo`, `runtime.services[0].ports`),
 * found by walking the raw JSON beside the schema.
 */
export function unknownManifestKeys(raw: unknown): string[] {
  const out: string[] = [];
  walk(manifestSchema, raw, '', out);
  return out;
}

function walk(schema: z.ZodType, value: unknown, path: string, out: string[]): void {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodObject && value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const shape = inner.shape as Record<string, z.ZodType>;
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      const childPath = path === '' ? key : `${path}.${key}`;
      const childSchema = shape[key];
      if (childSchema === undefined) out.push(childPath);
      else walk(childSchema, child, childPath, out);
    }
  } else if (inner instanceof z.ZodArray && Array.isArray(value)) {
    value.forEach((item, index) => walk(inner.element as z.ZodType, item, `${path}[${index}]`, out));
  }
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    if (current instanceof z.ZodOptional || current instanceof z.ZodNullable || current instanceof z.ZodDefault) current = current.unwrap() as z.ZodType;
    else if (current instanceof z.ZodPipe) current = current.in as z.ZodType;
    else return current;
  }
}
