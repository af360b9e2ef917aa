/**
 * `Timer`: a Thread that runs its target after an interval (ms) unless `cancel()` came first.
 * The thread sleeps on an `Event` with the interval as timeout; `cancel()` sets the Event, so a
 * cancel that races the interval's end is decided by the Event alone. Python: `threading.Timer`.
 */
import { argTypeError } from '../errors.js';
import { describe, optionsOf, timeoutOf } from '../shared/validate.js';
import { Event } from '../sync/event.js';
import { encode } from '../wire/codec.js';
import type { TaskRef } from '../wire/target.js';
import { type Job, Thread } from './thread.js';

export interface TimerOptions {
  args?: unknown[];
  name?: string;
  daemon?: boolean;
}

/**
 * Runs `target(...args)` in a new thread after `intervalMs` milliseconds, unless `cancel()` is
 * called first. `start()` it like any thread.
 *
 * @example
 * const t = new Timer(1000, () => console.log('one second later'));
 * t.start();
 */
export class Timer<R = unknown> extends Thread<R> {
  readonly #interval: number;
  readonly #finished = new Event();

  constructor(
    intervalMs: number,
    target: ((...args: any[]) => R | Promise<R>) | TaskRef<any[], R | Promise<R>>,
    options?: TimerOptions,
  ) {
    if (typeof intervalMs !== 'number') {
      throw argTypeError(`Expected \`intervalMs\` to be a number of milliseconds, got ${describe(intervalMs)}`);
    }
    const interval = timeoutOf(intervalMs, 'intervalMs');
    const o = optionsOf(options, 'Timer');
    super({ target, args: o.args, name: o.name, daemon: o.daemon });
    this.#interval = interval;
  }

  /** Stops the timer if it is still waiting: its target will not run. */
  cancel(): void {
    this.#finished.set();
  }

  /** @internal */
  override _job(): Job {
    const job = super._job();
    return { ...job, kind: 'timer', interval: this.#interval, cancel: encode(this.#finished, 'cancel') };
  }
}
