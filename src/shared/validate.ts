/**
 * Argument checks shared by every public entry point. Each throws at the caller's frame with a
 * message that says what was expected and what came.
 */
import { argRangeError, argTypeError } from '../errors.js';

/** A short description of a value for error messages: `-1`, `a string ("x")`, `an object`. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'undefined':
      return 'undefined';
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(value) + (typeof value === 'bigint' ? 'n' : '');
    case 'string':
      return `a string (${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)})`;
    case 'symbol':
      return `a symbol (${String(value)})`;
    case 'function':
      return `a function${value.name ? ` (${value.name})` : ''}`;
    default: {
      if (Array.isArray(value)) return 'an array';
      const name = (value as object).constructor?.name;
      return name && name !== 'Object' ? `an instance of ${name}` : 'an object';
    }
  }
}

/** Checks that `options` is undefined or an object, and returns it as an object. */
export function optionsOf<T extends object>(options: T | undefined, where: string): Partial<T> {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object') {
    throw argTypeError(`Expected the options of ${where} to be an object, got ${describe(options)}`);
  }
  return options;
}

/**
 * A timeout in milliseconds: a number >= 0, or Infinity/undefined for "wait forever".
 * A negative or NaN timeout throws `RangeError`, a non-number `TypeError`.
 */
export function timeoutOf(value: unknown, name = 'timeout'): number {
  if (value === undefined) return Number.POSITIVE_INFINITY;
  if (typeof value !== 'number') {
    throw argTypeError(`Expected \`${name}\` to be a number of milliseconds or undefined, got ${describe(value)}`);
  }
  if (!(value >= 0)) {
    throw argRangeError(`Expected \`${name}\` to be a non-negative number of milliseconds, got ${describe(value)}`);
  }
  return value;
}

/** An optional AbortSignal option. */
export function signalOf(value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) {
    throw argTypeError(`Expected \`signal\` to be an AbortSignal, got ${describe(value)}`);
  }
  return value;
}

/** An optional boolean option. */
export function boolOf(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw argTypeError(`Expected \`${name}\` to be a boolean, got ${describe(value)}`);
  return value;
}

/** A whole number >= min. */
export function countOf(value: unknown, name: string, min: number): number {
  if (typeof value !== 'number') throw argTypeError(`Expected \`${name}\` to be an integer, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < min) {
    throw argRangeError(`Expected \`${name}\` to be an integer >= ${min}, got ${describe(value)}`);
  }
  return value;
}

/** The options of a lock-like acquire: `{ blocking, timeout, signal }`. */
export interface AcquireOptions {
  /** `false`: never wait; return `false` at once if the primitive is not available. Default `true`. */
  blocking?: boolean;
  /** Milliseconds to wait at most (`Infinity`/`undefined`: forever). Not allowed with `blocking: false`. */
  timeout?: number;
  /** Aborting it rejects the pending acquire with the signal's reason (Promise form only). */
  signal?: AbortSignal;
}

/** Parsed acquire options: `timeout` is 0 for non-blocking. */
export function acquireOptionsOf(
  options: AcquireOptions | undefined,
  where: string,
): { timeout: number; signal: AbortSignal | undefined } {
  const o = optionsOf(options, where);
  const blocking = boolOf(o.blocking, 'blocking', true);
  const timeout = timeoutOf(o.timeout);
  if (!blocking && o.timeout !== undefined) {
    throw argRangeError(
      `${where}: \`timeout\` cannot be combined with \`blocking: false\` (a non-blocking acquire never waits); drop one of them`,
    );
  }
  return { timeout: blocking ? timeout : 0, signal: signalOf(o.signal) };
}

/** "Expected `name` to be what, got …" */
export function argumentCheck(name: string, what: string, value: unknown): string {
  return `Expected \`${name}\` to be ${what}, got ${describe(value)}`;
}

/** A whole number >= 1, or Infinity (Condition.notify's n). */
export function countOrInfinity(value: unknown, name: string): number {
  if (value === Number.POSITIVE_INFINITY) return value;
  return countOf(value, name, 0);
}
