/**
 * The private members of a class (`#x = init`, `#m() {}`, `get #a() {}`, their static forms),
 * read from its source text, `Function.prototype.toString` of the class: a `Thread` subclass's
 * methods are recompiled in the new thread inside a class that declares them, since a method
 * that names `#x` compiles only where `#x` is declared.
 *
 * Reflection cannot list private members, so the class body is split into members by a small
 * lexer that knows what can hide a brace: strings, template literals (with nested `${}`),
 * comments and regular expression literals. Whether a `/` starts a regular expression is decided
 * by the token before it, the usual heuristic: after `)`, `]`, `}`, a name or a literal it is a
 * division. A member ends at a `;`, at the `}` that closes a method body or static block, or at
 * a line break after a field unless the next line continues it (ASI's rule, in short). A source
 * this misreads makes a declaration fail to compile, and the caller falls back.
 */

interface Token {
  text: string;
  start: number;
  end: number;
  /** A line break comes before it. */
  nl: boolean;
}

const OPEN = new Set(['(', '[', '{']);
const CLOSE = new Set([')', ']', '}']);
/** Words after which a `/` starts a regular expression, as after an operator. */
const BEFORE_EXPRESSION = new Set([
  'return',
  'typeof',
  'instanceof',
  'in',
  'of',
  'new',
  'delete',
  'void',
  'throw',
  'case',
  'do',
  'else',
  'yield',
  'await',
]);
/** Words that may come before a member's key. */
const MODIFIERS = new Set(['static', 'async', 'get', 'set', '*']);
/** A field's initializer goes on past a line break that ends in one of these… */
const OPERATOR_END = /^[=+\-*/%&|^<>?:,.!~]$/;
/** …or that the next line opens with one of these (a template literal included). */
const CONTINUATION_START = /^[.([?+\-*/%&|^<>=,:`]/;

function isWordChar(c: string | undefined): boolean {
  return c !== undefined && (/[\w$]/.test(c) || c > '\x7f');
}

function skipString(s: string, i: number): number {
  const quote = s[i];
  for (let j = i + 1; j < s.length; j++) {
    const c = s[j];
    if (c === '\\') j++;
    else if (c === quote) return j + 1;
    else if (c === '\n') return j;
  }
  return s.length;
}

function skipTemplate(s: string, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    const c = s[j];
    if (c === '\\') j++;
    else if (c === '`') return j + 1;
    else if (c === '$' && s[j + 1] === '{') j = skipBalanced(s, j + 2) - 1;
  }
  return s.length;
}

function skipRegex(s: string, i: number): number {
  let inClass = false;
  for (let j = i + 1; j < s.length; j++) {
    const c = s[j];
    if (c === '\\') j++;
    else if (c === '\n') return j;
    else if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    else if (c === '/' && !inClass) {
      let k = j + 1;
      while (isWordChar(s[k])) k++;
      return k;
    }
  }
  return s.length;
}

/** The index after the `}` that closes a brace opened just before `from`. */
function skipBalanced(s: string, from: number): number {
  const lexer = new Lexer(s, from);
  let depth = 0;
  for (let t = lexer.next(); t !== undefined; t = lexer.next()) {
    if (OPEN.has(t.text)) depth++;
    else if (CLOSE.has(t.text)) {
      if (depth === 0) return t.end;
      depth--;
    }
  }
  return s.length;
}

class Lexer {
  private prev: Token | undefined;

  constructor(
    private readonly s: string,
    private i = 0,
  ) {}

  next(): Token | undefined {
    const s = this.s;
    let nl = false;
    for (;;) {
      const c = s[this.i];
      if (c === undefined) return undefined;
      if (c === '\n' || c === '\r' || c === '\u2028' || c === '\u2029') {
        nl = true;
        this.i++;
      } else if (/\s/.test(c)) this.i++;
      else if (c === '/' && s[this.i + 1] === '/') {
        const end = s.indexOf('\n', this.i);
        this.i = end < 0 ? s.length : end;
      } else if (c === '/' && s[this.i + 1] === '*') {
        const close = s.indexOf('*/', this.i + 2);
        const end = close < 0 ? s.length : close + 2;
        if (/[\n\r\u2028\u2029]/.test(s.slice(this.i, end))) nl = true;
        this.i = end;
      } else break;
    }
    const start = this.i;
    const c = s[start];
    if (c === '"' || c === "'") this.i = skipString(s, start);
    else if (c === '`') this.i = skipTemplate(s, start);
    else if (c === '/' && this.regexMayStart()) this.i = skipRegex(s, start);
    else if (c === '#' || isWordChar(c)) {
      let j = start + 1;
      while (isWordChar(s[j])) j++;
      this.i = j;
    } else this.i = start + 1;
    const token: Token = { text: s.slice(start, this.i), start, end: this.i, nl };
    this.prev = token;
    return token;
  }

  private regexMayStart(): boolean {
    const p = this.prev?.text;
    if (p === undefined) return true;
    if (BEFORE_EXPRESSION.has(p)) return true;
    // A name, a number or a literal (a regular expression is `/…/`, longer than the operator).
    if (isWordChar(p[0]) || p[0] === '#' || p[0] === '"' || p[0] === "'" || p[0] === '`') return false;
    if (p.length > 1 && p[0] === '/') return false;
    return !CLOSE.has(p);
  }
}

/** A private member as found in a class's source. */
export type PrivateMember =
  | { kind: 'field'; name: string; isStatic: boolean; init: string | undefined }
  | { kind: 'method'; name: string; isStatic: boolean; source: string };

function classify(s: string, tokens: Token[]): PrivateMember | undefined {
  let k = 0;
  let isStatic = false;
  // A modifier is one only when something other than `(`, `=` follows: `get() {}` is a method named get.
  while (k < tokens.length - 1 && MODIFIERS.has((tokens[k] as Token).text)) {
    const after = (tokens[k + 1] as Token).text;
    if (after === '(' || after === '=') break;
    if ((tokens[k] as Token).text === 'static') isStatic = true;
    k++;
  }
  const key = tokens[k] as Token;
  if (!key.text.startsWith('#')) return undefined;
  const last = tokens[tokens.length - 1] as Token;
  const next = tokens[k + 1];
  if (next?.text === '(') {
    return { kind: 'method', name: key.text, isStatic, source: s.slice((tokens[0] as Token).start, last.end) };
  }
  const init = next?.text === '=' ? s.slice(next.end, last.end).trim() : undefined;
  return { kind: 'field', name: key.text, isStatic, init };
}

/**
 * The private members declared in the body of the class whose source is `classSource`, in
 * order; `[]` if it is not a class.
 */
export function privateMembers(classSource: string): PrivateMember[] {
  const s = classSource;
  const lexer = new Lexer(s);
  if (lexer.next()?.text !== 'class') return [];
  // The body opens at the first `{` outside the brackets of the heritage expression.
  for (let depth = 0; ; ) {
    const t = lexer.next();
    if (t === undefined) return [];
    if (t.text === '{' && depth === 0) break;
    if (OPEN.has(t.text)) depth++;
    else if (CLOSE.has(t.text)) depth--;
  }
  const found: PrivateMember[] = [];
  let member: Token[] = [];
  let depth = 0;
  let method = false;
  let assigned = false;
  const finish = (): void => {
    const m = member.length > 0 ? classify(s, member) : undefined;
    if (m !== undefined) found.push(m);
    member = [];
    method = false;
    assigned = false;
  };
  for (let t = lexer.next(); t !== undefined; t = lexer.next()) {
    if (depth === 0) {
      if (t.text === '}') break;
      if (t.text === ';') {
        finish();
        continue;
      }
      const prev = member[member.length - 1];
      // After a field's name only `=` may follow on the next line; after its initializer, what
      // continues an expression does.
      const continues = assigned
        ? OPERATOR_END.test(prev?.text ?? '') || CONTINUATION_START.test(t.text)
        : t.text === '=';
      if (t.nl && prev !== undefined && !method && !continues) finish();
    }
    member.push(t);
    if (OPEN.has(t.text)) {
      if (depth === 0 && !assigned && t.text !== '[') method = true;
      depth++;
    } else if (CLOSE.has(t.text)) {
      depth--;
      // The body of a method, accessor or static block ends the member; an object literal or
      // arrow body in a field's initializer does not.
      if (depth === 0 && t.text === '}' && !assigned) finish();
    } else if (depth === 0 && t.text === '=') assigned = true;
  }
  return found;
}
