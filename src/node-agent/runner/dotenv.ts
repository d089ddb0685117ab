/**
 * Parser for project env files (`.computalot.env`, `computalot.env`, `.env`), in
 * the common dotenv dialect: `KEY=VALUE`, optional `export ` prefix, `#` comments,
 * single quotes (literal), double quotes (with `\n`, `\t`, `\"`, `\\` escapes, may
 * span lines), unquoted values trimmed and cut at ` #`. No `${VAR}` expansion:
 * values are literal, so an env file can never read the node's environment.
 */

/** Result of {@link parseDotenv}: the variables and the lines that were skipped. */
export interface DotenvParse {
  readonly vars: Record<string, string>;
  /** Human-readable notes about malformed lines (1-based line numbers). */
  readonly warnings: string[];
}

const KEY = /^[A-Za-z_][A-Za-z0-9_.]*$/;
const ESCAPES: Readonly<Record<string, string>> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\', $: '$' };

/** Parses dotenv text; later assignments of the same key win, as in a shell. */
export function parseDotenv(text: string): DotenvParse {
  const vars: Record<string, string> = {};
  const warnings: string[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < lines.length; i += 1) {
    const lineNo = i + 1;
    let line = (lines[i] ?? '').trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('export ')) line = line.slice('export '.length).trimStart();
    const eq = line.indexOf('=');
    if (eq <= 0) {
      warnings.push(`line ${lineNo}: expected KEY=VALUE`);
      continue;
    }
    const key = line.slice(0, eq).trim();
    if (!KEY.test(key)) {
      warnings.push(`line ${lineNo}: invalid variable name "${key}"`);
      continue;
    }
    let rest = line.slice(eq + 1).trimStart();
    const quote = rest[0];
    if (quote === "'" || quote === '"') {
      // Gather following lines until the closing quote (multi-line values).
      let body = rest.slice(1);
      let close = findClosingQuote(body, quote);
      while (close === -1 && i + 1 < lines.length) {
        i += 1;
        body += `\n${lines[i] ?? ''}`;
        close = findClosingQuote(body, quote);
      }
      if (close === -1) {
        warnings.push(`line ${lineNo}: unterminated ${quote} quote`);
        continue;
      }
      const raw = body.slice(0, close);
      vars[key] = quote === "'" ? raw : raw.replace(/\\(.)/gs, (match, ch: string) => ESCAPES[ch] ?? match);
      continue;
    }
    const comment = rest.search(/\s#/);
    if (comment !== -1) rest = rest.slice(0, comment);
    vars[key] = rest.trim();
  }
  return { vars, warnings };
}

function findClosingQuote(body: string, quote: string): number {
  for (let j = 0; j < body.length; j += 1) {
    if (quote === '"' && body[j] === '\\') {
      j += 1;
      continue;
    }
    if (body[j] === quote) return j;
  }
  return -1;
}
