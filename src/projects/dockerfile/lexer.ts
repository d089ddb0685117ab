/**
 * Splits a Dockerfile into logical instructions: parser directives (only
 * `escape` matters here), comments, blank lines and line continuations
 * handled the way Docker's own parser does.
 */

/** One instruction with its arguments still unparsed. */
export interface RawInstruction {
  /** Upper-cased keyword, e.g. `COPY`. */
  readonly keyword: string;
  /** Everything after the keyword, continuations joined. */
  readonly args: string;
  /** 1-based line where the instruction starts. */
  readonly line: number;
}

/** The instructions of `text` plus the escape character in force (`\` unless `# escape=` says otherwise). */
export function lexDockerfile(text: string): { readonly instructions: RawInstruction[]; readonly escape: string } {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  let escape = '\\';
  let index = 0;
  // Directives are comments of the form `# name=value` before anything else, blank lines included.
  for (; index < lines.length; index += 1) {
    const match = /^#\s*([A-Za-z]+)\s*=\s*(\S+)\s*$/.exec(lines[index] ?? '');
    if (match === null) break;
    if (match[1]?.toLowerCase() === 'escape' && (match[2] === '`' || match[2] === '\\')) escape = match[2];
  }

  const instructions: RawInstruction[] = [];
  let buffer: string | null = null;
  let startLine = 0;
  for (; index < lines.length; index += 1) {
    const line = lines[index] ?? '';
    const trimmed = line.trim();
    if (buffer === null) {
      if (trimmed === '' || trimmed.startsWith('#')) continue;
      buffer = '';
      startLine = index + 1;
    } else if (trimmed === '' || trimmed.startsWith('#')) {
      // Comment and empty lines inside a continuation are dropped, as Docker does.
      continue;
    }
    const body = line.replace(/\s+$/, '');
    if (body.endsWith(escape)) {
      buffer += `${body.slice(0, -1)} `;
      continue;
    }
    buffer += body;
    instructions.push(toInstruction(buffer, startLine));
    buffer = null;
  }
  if (buffer !== null && buffer.trim() !== '') instructions.push(toInstruction(buffer, startLine));
  return { instructions, escape };
}

function toInstruction(text: string, line: number): RawInstruction {
  const match = /^\s*(\S+)\s*([\s\S]*)$/.exec(text);
  return { keyword: (match?.[1] ?? '').toUpperCase(), args: (match?.[2] ?? '').trim(), line };
}
