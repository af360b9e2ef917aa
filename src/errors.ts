/**
 * Every public error class of threadkit, each with a stable `code`.
 *
 * `instanceof` works across duplicate copies of the package (the ESM and CommonJS builds loaded
 * side by side) and for errors rebuilt after crossing a thread: each class checks a brand kept
 * under a `Symbol.for` key instead of its own identity (the idea of undici's `lib/core/errors.js`).
 */

const BRAND = Symbol.for('threadkit.error.brand');
const OWN_BRAND = Symbol.for('threadkit.error.ownBrand');

type Branded = { [BRAND]?: readonly string[] };

function brand(cls: { prototype: object; name: string }, name: string, parent?: string): void {
  const parentChain = parent ? [parent, ...chainOf(parent)] : [];
  Object.defineProperty(cls.prototype, BRAND, { value: Object.freeze([name, ...parentChain]) });
  Object.defineProperty(cls.prototype, 'name', { value: name, writable: true, configurable: true });
  Object.defineProperty(cls, OWN_BRAND, { value: name });
}

const chains = new Map<string, string[]>();
function chainOf(name: string): string[] {
  return chains.get(name) ?? [];
}

function hasInstance(this: unknown, value: unknown): boolean {
  // A user subclass (class MyError extends ThreadError) inherits this static method but has no
  // brand of its own: it gets ordinary prototype-chain instanceof.
  const own = Object.hasOwn(this as object, OWN_BRAND) ? (this as Record<symbol, string>)[OWN_BRAND] : undefined;
  if (own === undefined) return Function.prototype[Symbol.hasInstance].call(this, value);
  if (typeof value !== 'object' || value === null) return false;
  const chain = (value as Branded)[BRAND];
  return Array.isArray(chain) && chain.includes(own);
}

function register(cls: { prototype: object; name: string }, name: string, parent?: string): void {
  chains.set(name, parent ? [parent, ...chainOf(parent)] : []);
  brand(cls, name, parent);
  // Defined, not assigned: Function.prototype[Symbol.hasInstance] is read-only, so a static field
  // compiled to an assignment (as the CommonJS build does) would throw.
  Object.defineProperty(cls, Symbol.hasInstance, { value: hasInstance, configurable: true });
}

/**
 * Python's `RuntimeError` cases: releasing an unlocked lock, starting a thread twice, joining a
 * thread that was never started or joining oneself, waiting or notifying on a condition whose
 * lock is not held, submitting to a pool that is shut down.
 */
export class ThreadError extends Error {
  static readonly code: string = 'ERR_THREADKIT_THREAD';
  code: string = 'ERR_THREADKIT_THREAD';
}
register(ThreadError, 'ThreadError');

/** A barrier was broken (by a timeout, an `abort()`, a failing action) or `reset()` while waiting. */
export class BrokenBarrierError extends ThreadError {
  static override readonly code: string = 'ERR_THREADKIT_BROKEN_BARRIER';
  override code = 'ERR_THREADKIT_BROKEN_BARRIER';
}
register(BrokenBarrierError, 'BrokenBarrierError', 'ThreadError');

/** `getNowait()`, or `get()` with `block: false` or after its timeout, on an empty queue. */
export class QueueEmpty extends Error {
  static readonly code: string = 'ERR_THREADKIT_QUEUE_EMPTY';
  code = 'ERR_THREADKIT_QUEUE_EMPTY';
}
register(QueueEmpty, 'QueueEmpty');

/** `putNowait()`, or `put()` with `block: false` or after its timeout, on a full queue. */
export class QueueFull extends Error {
  static readonly code: string = 'ERR_THREADKIT_QUEUE_FULL';
  code = 'ERR_THREADKIT_QUEUE_FULL';
}
register(QueueFull, 'QueueFull');

/** `put()` after `shutdown()`, or `get()` on a shut-down queue that is drained. */
export class QueueShutDown extends Error {
  static readonly code: string = 'ERR_THREADKIT_QUEUE_SHUT_DOWN';
  code = 'ERR_THREADKIT_QUEUE_SHUT_DOWN';
}
register(QueueShutDown, 'QueueShutDown');

/** A future was cancelled. */
export class CancelledError extends Error {
  static readonly code: string = 'ERR_THREADKIT_CANCELLED';
  code = 'ERR_THREADKIT_CANCELLED';
}
register(CancelledError, 'CancelledError');

/** A wait for a result gave up after its timeout (milliseconds), or a task exceeded its own. */
export class TimeoutError extends Error {
  static readonly code: string = 'ERR_THREADKIT_TIMEOUT';
  code = 'ERR_THREADKIT_TIMEOUT';
}
register(TimeoutError, 'TimeoutError');

/** An operation that the object's current state does not allow (Python's `InvalidStateError`). */
export class InvalidStateError extends Error {
  static readonly code: string = 'ERR_THREADKIT_INVALID_STATE';
  code = 'ERR_THREADKIT_INVALID_STATE';
}
register(InvalidStateError, 'InvalidStateError');

/**
 * A task or thread ended because its thread exited (`process.exit`), crashed (out of memory) or
 * was terminated before it finished. `exitCode` is the thread's exit code.
 */
export class ThreadExitError extends Error {
  static readonly code: string = 'ERR_THREADKIT_THREAD_EXIT';
  code = 'ERR_THREADKIT_THREAD_EXIT';
  exitCode: number;
  constructor(message?: string, options?: ErrorOptions & { exitCode?: number }) {
    super(message, options);
    this.exitCode = options?.exitCode ?? 1;
  }
}
register(ThreadExitError, 'ThreadExitError');

/** A pool that can no longer run tasks (its initializer threw): Python's `BrokenThreadPool`. */
export class BrokenPoolError extends Error {
  static readonly code: string = 'ERR_THREADKIT_BROKEN_POOL';
  code = 'ERR_THREADKIT_BROKEN_POOL';
}
register(BrokenPoolError, 'BrokenPoolError');

/** The threadkit error classes by name, for rebuilding errors that crossed a thread. */
export const errorClasses: Readonly<Record<string, new (message?: string, options?: ErrorOptions) => Error>> = {
  ThreadError,
  BrokenBarrierError,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  CancelledError,
  TimeoutError,
  InvalidStateError,
  ThreadExitError,
  BrokenPoolError,
};

/** The threadkit class name of an error, if it is one of ours (by brand). */
export function threadkitClassOf(error: object): string | undefined {
  const chain = (error as Branded)[BRAND];
  return Array.isArray(chain) ? chain[0] : undefined;
}

/** A `TypeError` with a Node-style code, for bad argument types. */
export function argTypeError(message: string): TypeError {
  return Object.assign(new TypeError(message), { code: 'ERR_INVALID_ARG_TYPE' });
}

/** A `RangeError` with a Node-style code, for argument values out of range. */
export function argRangeError(message: string): RangeError {
  return Object.assign(new RangeError(message), { code: 'ERR_OUT_OF_RANGE' });
}
