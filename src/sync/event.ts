/**
 * `Event`: Python's `threading.Event`, shared across threads.
 *
 * Memory layout (Int32 words after the primitive header):
 * - `WORD`: `generation << 1 | flag`. `set()` raises the flag and bumps the generation in one
 *   CAS, then wakes every sleeper; `clear()` drops the flag and keeps the generation. A waiter
 *   sleeps while the word equals what it saw with the flag down; any change means a `set()`
 *   happened since it started waiting, so `set(); clear()` in quick succession still wakes every
 *   current waiter with `true` (the naive "wait while the flag is down" loses those).
 * - `WAITERS`: how many may be sleeping, so `set()` skips the notify when nobody waits.
 * - `WHO…`: which threads wait, for `util.inspect` (`waiters.ts`).
 */
import { inspect } from 'node:util';
import { deadlineOf } from '../shared/clock.js';
import { optionsOf, signalOf, timeoutOf } from '../shared/validate.js';
import { K_EVENT, O_WAIT } from '../shared/records.js';
import { type Park, runAsync, runSync, type Steps } from '../shared/wait.js';
import { defineKind } from '../wire/kinds.js';
import type { WaitOptions } from './condition.js';
import { rejectSignalInSync } from './locklike.js';
import { countWaiters, enterWait, leaveWait, WAITER_WORDS } from './waiters.js';
import { brandClass, FIRST_WORD, revivePrimitive, SharedPrimitive } from './primitive.js';

const WORD = FIRST_WORD;
const WAITERS = FIRST_WORD + 1;
const WHO = FIRST_WORD + 2;
const WORDS = WHO + WAITER_WORDS;

/**
 * A flag threads can wait for. `set()` wakes every waiter; `clear()` lowers it again.
 * - `wait()`: returns `true` at once if set, else when it is set.
 * - `wait({ timeout })` (ms): `false` if it was not set within that time.
 * - `wait({ signal })` (Promise form): abort rejects with the signal's reason.
 * Python: `threading.Event`.
 */
export class Event extends SharedPrimitive {
  constructor(sab?: SharedArrayBuffer) {
    super(WORDS, sab);
  }

  /** Whether the flag is set. */
  isSet(): boolean {
    return (Atomics.load(this._i32, WORD) & 1) === 1;
  }

  /** Sets the flag and wakes every waiter. */
  set(): void {
    const i32 = this._i32;
    for (;;) {
      const w = Atomics.load(i32, WORD);
      if (w & 1) return;
      const next = ((((w >>> 1) + 1) & 0x3fffffff) << 1) | 1;
      if (Atomics.compareExchange(i32, WORD, w, next) === w) break;
    }
    if (Atomics.load(i32, WAITERS) > 0) Atomics.notify(i32, WORD);
  }

  /** Lowers the flag. */
  clear(): void {
    const i32 = this._i32;
    for (;;) {
      const w = Atomics.load(i32, WORD);
      if (!(w & 1) || Atomics.compareExchange(i32, WORD, w, w & ~1) === w) return;
    }
  }

  /** Waits until the flag is set; `false` if the timeout (ms) passed first. */
  async wait(options?: WaitOptions): Promise<boolean> {
    const o = optionsOf(options, 'Event.wait');
    const timeout = timeoutOf(o.timeout);
    const signal = signalOf(o.signal);
    if (signal?.aborted) throw signal.reason;
    if (this.isSet()) return true;
    return runAsync(this._waitSteps(), deadlineOf(timeout), signal);
  }

  /** Blocking twin of `wait`. */
  waitSync(options?: Omit<WaitOptions, 'signal'>): boolean {
    rejectSignalInSync(options, 'Event.waitSync');
    const timeout = timeoutOf(optionsOf(options, 'Event.waitSync').timeout);
    if (this.isSet()) return true;
    return runSync(this._waitSteps(), deadlineOf(timeout));
  }

  private *_waitSteps(): Steps<boolean> {
    const i32 = this._i32;
    Atomics.add(i32, WAITERS, 1);
    const token = enterWait(i32, WHO);
    try {
      const seen = Atomics.load(i32, WORD);
      if (seen & 1) return true;
      const park: Park = { i32, index: WORD, value: seen, rec: { kind: K_EVENT, op: O_WAIT, src: this } };
      for (;;) {
        const outcome = yield park;
        if (Atomics.load(i32, WORD) !== seen) return true;
        if (outcome === 'timeout') return false;
      }
    } finally {
      Atomics.sub(i32, WAITERS, 1);
      leaveWait(i32, WHO, token);
    }
  }

  /** @internal */
  _kind(): string {
    return 'Event';
  }

  [inspect.custom](): string {
    return `<Event ${this.isSet() ? 'set' : 'unset'} waiters=${countWaiters(this._i32, WHO)}>`;
  }
}
brandClass(Event, 'Event');
defineKind('Event', (d) => revivePrimitive(d.sab, (sab) => new Event(sab)));
