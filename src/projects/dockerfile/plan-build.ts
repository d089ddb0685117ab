/**
 * Interprets the Dockerfile subset the platform honours (docs/projects.md):
 * FROM (recorded; multi-stage `AS name`, `build.target`), ARG (with
 * `build.args` overriding), ENV, WORKDIR, COPY/ADD from the build context,
 * RUN and SHELL. Metadata that changes nothing here (CMD, ENTRYPOINT, LABEL,
 * EXPOSE, …) is ignored with a warning; anything the build cannot honour
 * (USER, VOLUME, COPY --from, ADD <url>, RUN --mount, heredocs…) is a 422 naming the line.
 */
import { posix } from 'node:path';
import { InvalidDockerfileError, InvalidManifestError } from '../errors.js';
import type { TarballIndex } from '../manifest/manifest-references.js';
import type { BuildPlan, BuildStep, IgnoredInstruction } from './build-plan.js';
import { resolveCopySource } from './copy-sources.js';
import { lexDockerfile, type RawInstruction } from './lexer.js';
import { expandText, keyValue, parseJsonForm, splitWords } from './words.js';

/** What {@link planBuild} needs. */
export interface PlanBuildInput {
  /** Dockerfile path in the tarball, for messages and the plan. */
  readonly file: string;
  readonly text: string;
  /** `build.context`, tarball-relative. */
  readonly context: string;
  readonly target?: string | undefined;
  readonly args: Readonly<Record<string, string>>;
  readonly tarball: TarballIndex;
}

interface Stage {
  name: string | null;
  baseImage: string;
  args: Record<string, string | undefined>;
  env: Record<string, string>;
  workdir: string;
  shell: string[];
  steps: BuildStep[];
  ignored: IgnoredInstruction[];
}

const DEFAULT_SHELL = ['/bin/sh', '-c'];
const IGNORED = new Set(['CMD', 'ENTRYPOINT', 'LABEL', 'EXPOSE', 'MAINTAINER', 'STOPSIGNAL', 'HEALTHCHECK']);
const REFUSED: Readonly<Record<string, string>> = {
  USER: "USER is not supported: tasks always run as the sandbox's unprivileged user",
  VOLUME: 'VOLUME is not supported: declare persistent writable storage with cache_mounts in computalot.project.json',
  ONBUILD: 'ONBUILD is not supported',
};
const ARCHIVE = /\.(tar|tgz|tar\.gz|tar\.bz2|tbz2?|tar\.xz|txz|tar\.zst)$/i;

/** Builds the plan for the chosen stage, or throws naming the offending line. */
export function planBuild(input: PlanBuildInput): { readonly plan: BuildPlan; readonly warnings: string[] } {
  const { instructions, escape } = lexDockerfile(input.text);
  const warnings: string[] = [];
  const globalArgs: Record<string, string | undefined> = {};
  const stages: Stage[] = [];
  const usedArgs = new Set<string>();
  let stage: Stage | null = null;

  for (const ins of instructions) {
    const fail = (problem: string): never => {
      throw new InvalidDockerfileError(input.file, ins.line, problem);
    };
    try {
      if (ins.keyword === 'FROM') {
        stage = startStage(ins, globalArgs, stages, escape, warnings, input.file);
        stages.push(stage);
        continue;
      }
      if (ins.keyword === 'ARG') {
        for (const word of splitWords(ins.args, stage ? varsOf(stage) : globalArgs, escape)) {
          const [name, fallback] = keyValue(word);
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) fail(`invalid ARG name "${name}"`);
          usedArgs.add(name);
          const value = input.args[name] ?? fallback ?? (stage ? globalArgs[name] : undefined);
          if (stage) stage.args[name] = value;
          else globalArgs[name] = value;
        }
        continue;
      }
      if (stage === null) return fail(`${ins.keyword} before the first FROM`);
      const current: Stage = stage;
      const vars = varsOf(current);
      if (ins.keyword === 'ENV') {
        const words = splitWords(ins.args, vars, escape);
        const first = words[0];
        if (first === undefined) fail('ENV needs KEY=VALUE');
        else if (!first.includes('=')) {
          // Legacy `ENV KEY value with spaces`: the rest of the line is the value.
          const rest = ins.args.slice(ins.args.indexOf(first) + first.length).trim();
          current.env[first] = expandText(rest, vars, escape);
        } else {
          for (const word of words) {
            const [key, value] = keyValue(word);
            if (value === null || key === '') fail(`ENV "${word}" is not KEY=VALUE`);
            else current.env[key] = value;
          }
        }
      } else if (ins.keyword === 'WORKDIR') {
        const path = expandText(ins.args, vars, escape);
        if (path === '') fail('WORKDIR needs a path');
        current.workdir = posix.normalize(posix.isAbsolute(path) ? path : posix.join(current.workdir, path)).replace(/(.)\/+$/, '$1');
        current.steps.push({ kind: 'workdir', line: ins.line, path: current.workdir });
      } else if (ins.keyword === 'COPY' || ins.keyword === 'ADD') {
        current.steps.push(copyStep(ins, current, input, escape, warnings, fail));
      } else if (ins.keyword === 'RUN') {
        const argv = parseJsonForm(ins.args);
        if (argv === null) {
          if (/^--/.test(ins.args)) fail(`RUN ${ins.args.split(/\s/)[0] ?? ''} is not supported (no mounts, network or security options)`);
          if (/(^|\s)<<-?\s*["']?[A-Za-z_][A-Za-z0-9_]*/.test(ins.args)) fail('heredocs are not supported; put the script in a file and COPY it');
        }
        if (argv !== null && argv.length === 0) fail('RUN needs a command');
        const env = Object.fromEntries(Object.entries({ ...current.args, ...current.env }).filter((e): e is [string, string] => e[1] !== undefined));
        current.steps.push({ kind: 'run', line: ins.line, argv: argv ?? [...current.shell, ins.args], workdir: current.workdir, env });
      } else if (ins.keyword === 'SHELL') {
        const shell = parseJsonForm(ins.args);
        if (shell === null || shell.length === 0) fail('SHELL needs the JSON form, e.g. SHELL ["/bin/bash", "-c"]');
        else current.shell = shell;
      } else if (IGNORED.has(ins.keyword)) {
        current.ignored.push({ line: ins.line, instruction: ins.keyword });
        warnings.push(`${input.file}:${ins.line}: ${ins.keyword} ignored (the manifest's entrypoint and runtime decide how tasks run)`);
      } else {
        fail(REFUSED[ins.keyword] ?? `unknown or unsupported instruction ${ins.keyword}`);
      }
    } catch (error) {
      if (error instanceof InvalidDockerfileError) throw error;
      fail((error as Error).message);
    }
  }

  const chosen = chooseStage(stages, input);
  for (const name of Object.keys(input.args)) {
    if (!usedArgs.has(name)) warnings.push(`build.args.${name} is not declared by any ARG in ${input.file}`);
  }
  const args = Object.fromEntries(Object.entries(chosen.args).filter((e): e is [string, string] => e[1] !== undefined));
  const plan: BuildPlan = {
    version: 1,
    dockerfile: input.file,
    context: input.context,
    base_image: chosen.baseImage,
    stage: chosen.name,
    args,
    env: { ...chosen.env },
    workdir: chosen.workdir,
    shell: chosen.shell,
    steps: chosen.steps,
    ignored: chosen.ignored,
  };
  return { plan, warnings };
}

function varsOf(stage: Stage): Record<string, string | undefined> {
  return { ...stage.args, ...stage.env };
}

function startStage(ins: RawInstruction, globalArgs: Record<string, string | undefined>, stages: Stage[], escape: string, warnings: string[], file: string): Stage {
  const words = splitWords(ins.args, globalArgs, escape).filter((word) => {
    if (!word.startsWith('--')) return true;
    if (!word.startsWith('--platform=')) throw new Error(`FROM ${word} is not supported`);
    warnings.push(`${file}:${ins.line}: FROM --platform ignored (tasks run on the worker's own platform)`);
    return false;
  });
  const [image, as, name] = words;
  if (image === undefined || image === '' || (words.length !== 1 && !(words.length === 3 && as?.toLowerCase() === 'as'))) {
    throw new Error('expected FROM <image> [AS <name>]');
  }
  const stageName = name?.toLowerCase() ?? null;
  if (stageName !== null && stages.some((s) => s.name === stageName)) throw new Error(`duplicate stage name "${stageName}"`);
  const parent = stages.find((s) => s.name !== null && s.name === image.toLowerCase());
  if (parent) {
    // `FROM builder AS runtime`: the new stage starts from the earlier stage's result (ARGs do not carry over).
    return { ...parent, name: stageName, args: {}, env: { ...parent.env }, shell: [...parent.shell], steps: [...parent.steps], ignored: [...parent.ignored] };
  }
  return { name: stageName, baseImage: image, args: {}, env: {}, workdir: '/', shell: DEFAULT_SHELL, steps: [], ignored: [] };
}

function copyStep(ins: RawInstruction, stage: Stage, input: PlanBuildInput, escape: string, warnings: string[], fail: (problem: string) => never): BuildStep {
  const vars = varsOf(stage);
  const json = parseJsonForm(ins.args);
  const words = json === null ? splitWords(ins.args, vars, escape) : json.map((word) => expandText(word, vars, escape));
  while (words[0]?.startsWith('--')) {
    const flag = words.shift() ?? '';
    if (flag.startsWith('--from')) fail(`${ins.keyword} --from is not supported: stages share nothing here; copy from the build context`);
    if (!/^--(chown|chmod|link|parents)(=|$)/.test(flag)) fail(`${ins.keyword} ${flag} is not supported`);
    warnings.push(`${input.file}:${ins.line}: ${ins.keyword} ${flag.split('=')[0] ?? flag} ignored (files belong to the sandbox user, modes come from the tarball)`);
  }
  const dest = words.pop();
  if (dest === undefined || words.length === 0) fail(`${ins.keyword} needs at least one source and a destination`);
  const sources: string[] = [];
  for (const source of words) {
    if (ins.keyword === 'ADD') {
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source) || source.startsWith('git@')) fail(`ADD from a URL ("${source}") is not supported: workers have no network at build time`);
      if (ARCHIVE.test(source)) fail(`ADD of an archive ("${source}") is not supported (no auto-extraction); COPY it and unpack it in a RUN step`);
    }
    const resolved = resolveCopySource(source, input.context, input.tarball);
    if (!resolved.ok) fail(resolved.problem);
    else sources.push(...resolved.paths);
  }
  const destination = dest;
  if (sources.length > 1 && !destination.endsWith('/') && destination !== '.') {
    fail(`with several sources the destination "${destination}" must end with /`);
  }
  if (ins.keyword === 'ADD') warnings.push(`${input.file}:${ins.line}: ADD treated as COPY`);
  const absolute = posix.isAbsolute(destination) ? posix.normalize(destination) : posix.join(stage.workdir, destination);
  const keepSlash = destination.endsWith('/') || destination === '.' ? `${absolute.replace(/\/+$/, '')}/` : absolute;
  return { kind: 'copy', line: ins.line, sources, dest: keepSlash };
}

function chooseStage(stages: readonly Stage[], input: PlanBuildInput): Stage {
  const last = stages[stages.length - 1];
  if (last === undefined) throw new InvalidDockerfileError(input.file, 1, 'no FROM instruction');
  if (input.target === undefined) return last;
  const chosen = stages.find((stage) => stage.name === input.target?.toLowerCase());
  if (chosen) return chosen;
  const names = stages.map((stage) => stage.name).filter((name) => name !== null);
  throw new InvalidManifestError([{ path: 'build.target', problem: `"${input.target}" is not a stage of ${input.file} (stages: ${names.join(', ') || 'none named'})` }]);
}
