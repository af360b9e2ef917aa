/**
 * `Future`: the eventual outcome of a task submitted to a `ThreadPool`. Python's
 * `concurrent.futures.Future`, awaitable.
 *
 * States: `pending` (queued, or handed to a thread that has not begun it) → `running` (its
 * thread has begun it) → `finished` (returned or threw) — or `cancelled` from `pending` (or from
 * `running` with `cancel({ force: true })`, which terminates its thread).
 *
 * A failed future that nobody observes raises nothing: its Promise is made only when someone
 * awaits it (`then`, `result`, `exception`), so an unobserved failure is no unhandled rejection.
 */
import { inspect } from 'node:util';
import { argTypeError, CancelledError, TimeoutError } from '../errors.js';
import { longTimeout } from '../shared/clock.js';
import { describe, optionsOf, timeoutOf } from '../shared/validate.js';
import { UNSHAREABLE } from '../wire/kinds.js';

type State = 'pending' | 'running' | 'cancelled' | 'finished';

/** What the pool engine lets a future ask of it. */
export interface TaskControl {
  /** Whether the task's thread has begun it (read from shared memory). */
  isRunning(): boolean;
  /** Cancels a task not begun; with `force`, terminates its thread if it has begun. */
  cancel(force: boolean): boolean;
}

const BRAND = Symbol.for('threadkit.Future');

/**
 * The outcome of a task, to come. Await it (`await future`), or use Python's methods:
 * `result()`, `exception()`, `done()`, `cancel()`, `addDoneCallback()`.
 *
 * @example
 * const f = pool.submit((n: number) => n * 2, 21);
 * f.addDoneCallback((f) => console.log('done'));
 * console.log(await f); // 42
 */
export class Future<T = unknown> implements PromiseLike<T> {
  #state: State = 'pending';
  #ok = false;
  #value: T | undefined;
  #error: unknown;
  // Not `Future<T>`: a field of function type would make Future invariant in T, and a
  // Future<number> could then not be given where a Future<unknown> is taken (wait([f1, f2])).
  #callbacks: ((f: Future<any>) => void)[] = [];
  #promise: Promise<T> | undefined;
  #resolve: ((v: T) => void) | undefined;
  #reject: ((e: unknown) => void) | undefined;
  #control: TaskControl | undefined;

  /** @internal Made by the pool. */
  constructor(control?: TaskControl) {
    this.#control = control;
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  /**
   * Cancels the task if it has not begun (`true`); a running or finished one is not cancelled
   * (`false`), unless `force: true` on a running one: its thread is terminated (the pool starts
   * another) and it is cancelled. A cancelled future's `result()` rejects with `CancelledError`.
   */
  cancel(options?: { force?: boolean }): boolean {
    const o = optionsOf(options, 'Future.cancel');
    if (o.force !== undefined && typeof o.force !== 'boolean') {
      throw argTypeError(`Expected \`force\` to be a boolean, got ${describe(o.force)}`);
    }
    if (this.#state === 'cancelled') return true;
    if (this.#state === 'finished') return false;
    const control = this.#control;
    if (control === undefined) {
      this._cancelled();
      return true;
    }
    return control.cancel(o.force === true);
  }

  /** Whether it was cancelled. */
  cancelled(): boolean {
    return this.#state === 'cancelled';
  }

  /** Whether its thread is running it now. */
  running(): boolean {
    if (this.#state === 'pending' && this.#control?.isRunning()) this.#state = 'running';
    return this.#state === 'running';
  }

  /** Whether it finished or was cancelled. */
  done(): boolean {
    return this.#state === 'finished' || this.#state === 'cancelled';
  }

  /**
   * Its value, once finished: rejects with its error, with `CancelledError` if it was cancelled,
   * or with `TimeoutError` if `timeout` ms pass first (the task goes on: `done()` tells).
   */
  result(options?: { timeout?: number }): Promise<T> {
    return this.#wait(options, 'Future.result').then(() => {
      if (this.#state === 'cancelled') throw new CancelledError('the future was cancelled');
      if (!this.#ok) throw this.#error;
      return this.#value as T;
    });
  }

  /**
   * Its error (`undefined` if it returned), once finished; `CancelledError` if it was cancelled;
   * `TimeoutError` if `timeout` ms pass first.
   */
  exception(options?: { timeout?: number }): Promise<unknown> {
    return this.#wait(options, 'Future.exception').then(() => {
      if (this.#state === 'cancelled') throw new CancelledError('the future was cancelled');
      return this.#ok ? undefined : this.#error;
    });
  }

  /**
   * Calls `fn(future)` when it is done (finished or cancelled), at once if it already is. A
   * callback that throws is reported on stderr (as Python's logger does) and the others still run.
   */
  addDoneCallback(fn: (f: Future<T>) => void): void {
    if (typeof fn !== 'function') throw argTypeError(`Expected \`fn\` to be a function, got ${describe(fn)}`);
    if (this.done()) this.#call(fn);
    else this.#callbacks.push(fn);
  }

  // biome-ignore lint/suspicious/noThenProperty: a Future is awaitable by design (PromiseLike).
  then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.#outcome().then(onFulfilled, onRejected);
  }

  /** The outcome as a Promise, made on first demand (see the class comment). */
  #outcome(): Promise<T> {
    if (this.#promise === undefined) {
      if (this.#state === 'cancelled') this.#promise = Promise.reject(new CancelledError('the future was cancelled'));
      else if (this.#state === 'finished') {
        this.#promise = this.#ok ? Promise.resolve(this.#value as T) : Promise.reject(this.#error);
      } else {
        this.#promise = new Promise<T>((resolve, reject) => {
          this.#resolve = resolve;
          this.#reject = reject;
        });
      }
    }
    return this.#promise;
  }

  #wait(options: { timeout?: number } | undefined, where: string): Promise<void> {
    let timeout: number;
    try {
      timeout = timeoutOf(optionsOf(options, where).timeout);
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.done()) return Promise.resolve();
    const settled = this.#outcome().then(
      () => {},
      () => {},
    );
    if (timeout === Number.POSITIVE_INFINITY) return settled;
    return new Promise<void>((resolve, reject) => {
      const cancel = longTimeout(
        () => reject(new TimeoutError(`${where} gave up after ${timeout} ms; the task goes on`)),
        timeout,
      );
      void settled.then(() => {
        cancel();
        resolve();
      });
    });
  }

  #call(fn: (f: Future<T>) => void): void {
    try {
      fn(this);
    } catch (e) {
      const text = e instanceof Error ? (e.stack ?? String(e)) : inspect(e);
      process.stderr.write(`exception calling callback for ${inspect(this)}\n${text}\n`);
    }
  }

  #settle(state: State): void {
    this.#state = state;
    this.#control = undefined;
    const resolve = this.#resolve;
    const reject = this.#reject as (e: unknown) => void;
    this.#resolve = this.#reject = undefined;
    if (resolve !== undefined) {
      if (state === 'cancelled') reject(new CancelledError('the future was cancelled'));
      else if (this.#ok) resolve(this.#value as T);
      else reject(this.#error);
    }
    const callbacks = this.#callbacks;
    this.#callbacks = [];
    for (const fn of callbacks) this.#call(fn);
  }

  /** @internal Whether it finished by raising (for `wait`'s FIRST_EXCEPTION). */
  _failed(): boolean {
    return this.#state === 'finished' && !this.#ok;
  }

  /** @internal The engine: its thread has begun it. */
  _running(): void {
    if (this.#state === 'pending') this.#state = 'running';
  }

  /** @internal The engine: it returned `value`. */
  _resolve(value: T): void {
    if (this.done()) return;
    this.#ok = true;
    this.#value = value;
    this.#settle('finished');
  }

  /** @internal The engine: it threw (or its thread died, or it timed out). */
  _reject(error: unknown): void {
    if (this.done()) return;
    this.#error = error;
    this.#settle('finished');
  }

  /** @internal The engine: it was cancelled. */
  _cancelled(): void {
    if (this.done()) return;
    this.#settle('cancelled');
  }

  [inspect.custom](): string {
    const state = this.running() ? 'running' : this.#state;
    if (state !== 'finished') return `<Future state=${state}>`;
    if (this.#ok) return `<Future state=finished returned ${describe(this.#value).split(' (')[0]}>`;
    const e = this.#error as { name?: unknown } | null;
    return `<Future state=finished raised ${typeof e?.name === 'string' ? e.name : describe(e)}>`;
  }
}
Object.defineProperty(Future.prototype, BRAND, { value: true });
Object.defineProperty(Future.prototype, UNSHAREABLE, { value: 'a Future object' });
