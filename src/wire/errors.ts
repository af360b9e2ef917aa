/**
 * Errors across threads. Structured clone keeps almost nothing of an error, so errors travel as
 * a record: the class (built-in, DOMException or threadkit), `name`, `message`, `cause` and own
 * cloneable properties (encoded in turn), `errors` of an AggregateError, and the remote stack,
 * which is appended to the stack of the rebuilt error.
 */
import { fileURLToPath } from 'node:url';
import { errorClasses, threadkitClassOf } from '../errors.js';

const BUILTINS: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  ReferenceError,
  SyntaxError,
  EvalError,
  URIError,
};

const builtinByProto = new Map<object, string>(Object.entries(BUILTINS).map(([k, v]) => [v.prototype, k]));

/** An error as it travels. `c` is the class to rebuild; `p` holds own properties, encoded. */
export interface ErrorRecord {
  c: string;
  n: string;
  m: string;
  st: string | undefined;
  cause?: unknown;
  hasCause: boolean;
  errors?: unknown[];
  p: Record<string, unknown>;
  /** Set when the error was thrown (it escaped a target), not passed as data. */
  thrown?: boolean;
}

/**
 * The built-in class an error is an instance of, nearest first: a user class extending
 * `TypeError` arrives as a TypeError (named after the user's class), not as a plain Error.
 */
function nearestBuiltin(error: Error): string {
  for (
    let p = Object.getPrototypeOf(error) as object | null;
    p !== null;
    p = Object.getPrototypeOf(p) as object | null
  ) {
    const c = builtinByProto.get(p);
    if (c !== undefined) return c;
  }
  return 'Error';
}

export function isError(value: object): boolean {
  return (
    value instanceof Error ||
    Object.prototype.toString.call(value) === '[object Error]' ||
    value instanceof DOMException
  );
}

const SKIP = new Set(['stack', 'message', 'cause', 'errors']);

/**
 * Describes an error; `encodePart` encodes nested values and throws for uncloneable ones, which
 * are then dropped (an error must always be able to travel).
 */
export function errorToRecord(error: Error, encodePart: (value: unknown, key: string) => unknown): ErrorRecord {
  let c: string;
  if (error instanceof DOMException) c = 'DOMException';
  else if (error instanceof AggregateError) c = 'AggregateError';
  else c = threadkitClassOf(error) ?? nearestBuiltin(error);
  const ctorName = (error as { constructor?: { name?: unknown } }).constructor?.name;
  // The name: an own one; else the class's (a user class extending a built-in error class or a
  // threadkit error arrives as that base, named after the user's class), unless its prototype
  // names it.
  let n = String(error.name);
  const ctor = (error as { constructor?: object }).constructor;
  const ownClass = ctor !== undefined && Object.hasOwn(ctor, Symbol.for('threadkit.error.ownBrand'));
  if (
    !Object.hasOwn(error, 'name') &&
    c !== 'DOMException' &&
    n === c &&
    !ownClass &&
    typeof ctorName === 'string' &&
    ctorName
  ) {
    n = ctorName;
  }
  const p: Record<string, unknown> = {};
  for (const key of Object.keys(error)) {
    if (SKIP.has(key)) continue;
    try {
      const v = encodePart((error as unknown as Record<string, unknown>)[key], key);
      structuredClone(v);
      p[key] = v;
    } catch {
      // Dropped: an own property that cannot be cloned (SPEC: "own properties that cannot be cloned are dropped").
    }
  }
  const record: ErrorRecord = { c, n, m: String(error.message), st: error.stack, hasCause: false, p };
  if ('cause' in error) {
    try {
      const cause = encodePart(error.cause, 'cause');
      structuredClone(cause);
      record.cause = cause;
      record.hasCause = true;
    } catch {
      // Dropped like any own property that cannot be cloned: a stringified cause would claim
      // to be data that the error never held.
    }
  }
  if (c === 'AggregateError') {
    record.errors = (error as AggregateError).errors.map((e, i) => {
      try {
        return encodePart(e, `errors[${i}]`);
      } catch {
        return String(e);
      }
    });
  }
  return record;
}

const packageUrl = new URL('.', import.meta.url);
const packageDirs = [packageUrl.href, fileURLToPath(packageUrl)];

function isInternalFrame(line: string): boolean {
  return /^\s+at /.test(line) && (packageDirs.some((d) => line.includes(d)) || /\(node:|at node:/.test(line));
}

/** Rebuilds an error; `decodePart` decodes nested values. */
export function recordToError(
  r: ErrorRecord,
  decodePart: (value: unknown) => unknown,
  threadName?: string,
  created?: (error: Error) => void,
): Error {
  let error: Error;
  if (r.c === 'DOMException') error = new DOMException(r.m, r.n);
  else if (r.c === 'AggregateError') error = new AggregateError([], r.m);
  else {
    const Ctor = errorClasses[r.c] ?? BUILTINS[r.c] ?? Error;
    error = new Ctor(r.m);
  }
  created?.(error);
  if (r.c === 'AggregateError') {
    Object.defineProperty(error, 'errors', {
      value: (r.errors ?? []).map(decodePart),
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
  if (error.name !== r.n) {
    Object.defineProperty(error, 'name', { value: r.n, writable: true, configurable: true, enumerable: false });
  }
  if (r.hasCause) {
    Object.defineProperty(error, 'cause', {
      value: decodePart(r.cause),
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
  for (const [k, v] of Object.entries(r.p)) {
    try {
      (error as unknown as Record<string, unknown>)[k] = decodePart(v);
    } catch {
      // a read-only property of the class (DOMException's code): keep the class's own
    }
  }
  if (r.st !== undefined) {
    let stack = r.st;
    if (r.thrown) {
      // SPEC: the stack of the thread that threw is appended to the local one. Only for a throw:
      // an error passed as data keeps its stack as it was, or every hop would add a section.
      const where = threadName ? `thread ${threadName}` : 'another thread';
      // The local frames are threadkit's own message handling: keep only the user's, if any.
      const local = (error.stack ?? `${r.n}: ${r.m}`).split('\n').filter((line) => !isInternalFrame(line));
      stack = `${local.join('\n')}\n    --- thrown in ${where}: ---\n${r.st}`;
    }
    Object.defineProperty(error, 'stack', { value: stack, writable: true, configurable: true, enumerable: false });
  }
  return error;
}
