/**
 * An internal mutex in one word of a shared buffer, for short critical sections that never wait
 * inside (a queue's storage, the pool's rings). A futex mutex in the manner of Ulrich Drepper,
 * "Futexes Are Tricky" (2011), mutex #3, whose word also names its holder:
 *
 * - `0`: free;
 * - `ident << 1`: held by thread `ident`;
 * - `ident << 1 | 1`: held by `ident`, and a waiter may be sleeping (the release must wake one).
 *
 * The holder is written by the very CAS that takes the mutex, so there is no moment at which it
 * is held by nobody known. A critical section under this mutex never waits and never returns to
 * the event loop, so a holder leaves it without releasing only by dying (terminated, crashed,
 * out of memory). A waiter that finds the holder's Worker gone takes the mutex over (its CAS
 * on the word makes exactly one observer win) and learns that it did: whatever the dead holder
 * left half-done is its to repair (a queue replays its journal).
 */
import { EXITED, runtime, State, STATE_MASK, statusOf } from './runtime.js';
import type { Park, Steps } from './wait.js';

const rt = runtime();
const MINE = rt.ident << 1;
const arena = rt.i32;

/** Spins on a held mutex before sleeping: its holders leave within microseconds. */
const SPINS = 200;

/** Whether thread `ident` is gone for good (its Worker exited, or it died). */
function gone(ident: number): boolean {
  const s = statusOf(arena, ident);
  return (s & EXITED) !== 0 || (s & STATE_MASK) === State.Died;
}

/** Takes the mutex if it is free. */
export function tryLock(i32: Int32Array, at: number): boolean {
  return Atomics.compareExchange(i32, at, 0, MINE) === 0;
}

/**
 * Takes the mutex, spinning a little, then sleeping (the steps of a wait driver). Untimed and
 * not abortable: it is held only for a few instructions at a time. Returns `true` if it was
 * taken over from a dead holder.
 */
export function* lockSteps(i32: Int32Array, at: number): Steps<boolean> {
  for (let k = 0; k < SPINS; k++) {
    if (Atomics.load(i32, at) === 0 && Atomics.compareExchange(i32, at, 0, MINE) === 0) return false;
  }
  for (;;) {
    const c = Atomics.load(i32, at);
    if (c === 0) {
      // Taken as "maybe contended": other sleepers may be parked, and our release must wake one.
      if (Atomics.compareExchange(i32, at, 0, MINE | 1) === 0) return false;
      continue;
    }
    if ((c & 1) === 0 && Atomics.compareExchange(i32, at, c, c | 1) !== c) continue;
    const outcome = yield { i32, index: at, value: c | 1, poll: true, untimed: true } satisfies Park;
    if (outcome !== 'woken' && gone(c >>> 1) && Atomics.compareExchange(i32, at, c | 1, MINE | 1) === (c | 1)) {
      return true;
    }
  }
}

/** Releases the mutex, waking one sleeper if there may be one. */
export function unlock(i32: Int32Array, at: number): void {
  if (Atomics.compareExchange(i32, at, MINE, 0) !== MINE) {
    Atomics.store(i32, at, 0);
    Atomics.notify(i32, at, 1);
  }
}

/** The holder's ident, 0 if free (for `util.inspect`). */
export function holderOf(i32: Int32Array, at: number): number {
  return Atomics.load(i32, at) >>> 1;
}
