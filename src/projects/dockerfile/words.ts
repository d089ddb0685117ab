/**
 * Dockerfile word handling: splitting arguments on whitespace with quotes and
 * escapes, and expanding `$VAR`, `${VAR}`, `${VAR:-default}` and
 * `${VAR:+alternative}` the way Docker does for FROM, ARG, ENV, WORKDIR and COPY.
 */

/** Variables in scope while expanding (ARG and ENV values). */
export type Vars = Readonly<Record<string, string | undefined>>;

/**
 * Splits `text` into words, removing quotes and escapes and expanding
 * variables outside single quotes. Throws on an unterminated quote.
 */
export function splitWords(text: string, vars: Vars, escape = '\\'): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  while (i < text.length) {
    const ch = text[i] ?? '';
    if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i += 1;
      continue;
    }
    inWord = true;
    if (ch === escape && i + 1 < text.length) {
      word += text[i + 1];
      i += 2;
    } else if (ch === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new Error('unterminated single quote');
      word += text.slice(i + 1, end);
      i = end + 1;
    } else if (ch === '"') {
      i += 1;
      for (;;) {
        if (i >= text.length) throw new Error('unterminated double quote');
        const c = text[i] ?? '';
        if (c === '"') break;
        if (c === escape && (text[i + 1] === '"' || text[i + 1] === '$' || text[i + 1] === escape)) {
          word += text[i + 1];
          i += 2;
        } else if (c === '$') {
          const [value, next] = expandAt(text, i, vars);
          word += value;
          i = next;
        } else {
          word += c;
          i += 1;
        }
      }
      i += 1;
    } else if (ch === '$') {
      const [value, next] = expandAt(text, i, vars);
      word += value;
      i = next;
    } else {
      word += ch;
      i += 1;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** Expands variables in `text` without splitting (for a single value). */
export function expandText(text: string, vars: Vars, escape = '\\'): string {
  return splitWords(`"${text.replace(/"/g, `${escape}"`)}"`, vars, escape)[0] ?? '';
}

/** Expands the variable reference starting at `text[start] === '$'`; returns the value and the index after it. */
function expandAt(text: string, start: number, vars: Vars): [string, number] {
  if (text[start + 1] === '{') {
    const end = text.indexOf('}', start + 2);
    if (end < 0) throw new Error('unterminated ${...}');
    const inner = text.slice(start + 2, end);
    const match = /^([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([\s\S]*))?$/.exec(inner);
    if (match === null) throw new Error(`unsupported variable expression \${${inner}}`);
    const value = vars[match[1] ?? ''];
    const set = value !== undefined && value !== '';
    if (match[2] === '-') return [set ? value : (match[3] ?? ''), end + 1];
    if (match[2] === '+') return [set ? (match[3] ?? '') : '', end + 1];
    return [value ?? '', end + 1];
  }
  const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(start + 1));
  if (match === null) return ['$', start + 1];
  return [vars[match[0]] ?? '', start + 1 + match[0].length];
}

/** The exec (JSON) form `["a", "b"]` as an array, or null when `text` is shell form. */
export function parseJsonForm(text: string): string[] | null {
  if (!text.startsWith('[')) return null;
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) && parsed.every((item) => typeof item === 'string') ? (parsed) : null;
  } catch {
    return null;
  }
}

/** Splits `KEY=VALUE` words (ENV, ARG, LABEL); `null` value for a bare `KEY`. */
export function keyValue(word: string): [string, string | null] {
  const eq = word.indexOf('=');
  return eq < 0 ? [word, null] : [word.slice(0, eq), word.slice(eq + 1)];
}
