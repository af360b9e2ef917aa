/**
 * A futex word that names its holder, and on it the internal mutex of short critical sections
 * that never wait inside (a queue's storage); `Lock` and `RLock` use the same word and steps. A
 * futex mutex in the manner of Ulrich Drepper, "Futexes Are Tricky" (2011), mutex #3, whose word
 * also names its holder:
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

/** `holdSteps`' answer when the time ran out. */
export const TIMED_OUT = 0;
/** `holdSteps`' answer when the word was taken in the ordinary way. */
export const TAKEN = -1;

/**
 * The contended path of a holder-naming futex word at `i32[at]` (this file's, and `Lock`'s and
 * `RLock`'s state words), as the steps of a wait driver: spins `spin` times, then sleeps on
 * `park` (its `index`, `poll` and `rec` are the caller's; its `value` is set here) until the word
 * is free, or its holder is `dead` (checked at every poll: the CAS from the value it slept on
 * makes exactly one observer take it over), or the time runs out. Returns `TAKEN`, the ident of
 * the dead holder it took over from, or `TIMED_OUT`.
 */
export function* holdSteps(
  i32: Int32Array,
  at: number,
  park: Park,
  dead: (ident: number) => boolean,
  spin: number,
): Steps<number> {
  for (let k = 0; k < spin; k++) {
    if (Atomics.load(i32, at) === 0 && Atomics.compareExchange(i32, at, 0, MINE) === 0) return TAKEN;
  }
  for (;;) {
    const c = Atomics.load(i32, at);
    if (c === 0) {
      // Taken as "maybe contended": other sleepers may be parked, and our release must wake one.
      if (Atomics.compareExchange(i32, at, 0, MINE | 1) === 0) return TAKEN;
      continue;
    }
    if ((c & 1) === 0 && Atomics.compareExchange(i32, at, c, c | 1) !== c) continue;
    park.value = c | 1;
    const outcome = yield park;
    const holder = c >>> 1;
    if (outcome !== 'woken' && holder !== rt.ident && dead(holder)) {
      if (Atomics.compareExchange(i32, at, c | 1, MINE | 1) === (c | 1)) return holder;
    }
    if (outcome === 'timeout') return TIMED_OUT;
  }
}

/** Frees a holder-naming futex word held by anyone; false if it was free. Wakes one sleeper if there may be one. */
export function releaseHeld(i32: Int32Array, at: number): boolean {
  if (Atomics.compareExchange(i32, at, MINE, 0) === MINE) return true;
  for (;;) {
    const c = Atomics.load(i32, at);
    if (c === 0) return false;
    if (Atomics.compareExchange(i32, at, c, 0) === c) {
      if (c & 1) Atomics.notify(i32, at, 1);
      return true;
    }
  }
}

/** Takes the word now, if it is free. */
export function tryHold(i32: Int32Array, at: number): boolean {
  return Atomics.compareExchange(i32, at, 0, MINE) === 0;
}

/**
 * Takes the mutex, spinning a little, then sleeping (the steps of a wait driver). Untimed and
 * not abortable: it is held only for a few instructions at a time. Returns `true` if it was
 * taken over from a dead holder.
 */
export function* lockSteps(i32: Int32Array, at: number): Steps<boolean> {
  const park: Park = { i32, index: at, value: 0, poll: true, untimed: true };
  return (yield* holdSteps(i32, at, park, gone, SPINS)) !== TAKEN;
}

/** Releases the mutex, waking one sleeper if there may be one. */
export function unlock(i32: Int32Array, at: number): void {
  releaseHeld(i32, at);
}

/** The holder's ident, 0 if free (for `util.inspect`). */
export function holderOf(i32: Int32Array, at: number): number {
  return Atomics.load(i32, at) >>> 1;
}
