/**
 * Who is waiting on a primitive, for `util.inspect` only: a hung program's state dump must not
 * count a waiter whose thread was terminated while it waited (its `finally` never ran).
 *
 * Layout, `WAITER_WORDS` Int32 words from `base` in the primitive's buffer: `SLOTS` pairs
 * `[ident, count]`. A thread claims a pair (CAS on `ident` from 0, or from the ident of a thread
 * that died) and counts its own waits in it (only that thread writes `count`: several async waits
 * of one thread share the pair).
 *
 * A wait that finds every pair taken is recorded in a ledger entry of the arena
 * (`shared/nodes.ts`), which names its thread too. A plain overflow counter would not do: a
 * waiter killed while counted there could never be told apart, and the count would only grow.
 * A pair or entry whose thread died is skipped when counting, and reused.
 */
import { allocLedger, countLedger, freeLedger } from '../shared/nodes.js';
import { runtime } from '../shared/runtime.js';
import { waiterDied } from './owner.js';
import { ME, W_UID_HI, W_UID_LO } from './primitive.js';

const SLOTS = 4;
export const WAITER_WORDS = 2 * SLOTS;

const arena = runtime().i32;

/** The token of a wait that could not be recorded (the arena is out of nodes). */
const UNRECORDED = SLOTS;

/** Registers a wait of this thread; returns the token `leaveWait` needs. */
export function enterWait(i32: Int32Array, base: number): number {
  for (let k = 0; k < SLOTS; k++) {
    if (Atomics.load(i32, base + 2 * k) === ME) {
      i32[base + 2 * k + 1] = (i32[base + 2 * k + 1] as number) + 1;
      return k;
    }
  }
  for (let k = 0; k < SLOTS; k++) {
    const at = base + 2 * k;
    const id = Atomics.load(i32, at);
    if ((id === 0 || waiterDied(id)) && Atomics.compareExchange(i32, at, id, ME) === id) {
      Atomics.store(i32, at + 1, 1);
      return k;
    }
  }
  try {
    return -allocLedger(arena, ME, i32[W_UID_LO] as number, i32[W_UID_HI] as number);
  } catch {
    // A million pending condition waits have used up the arena: the wait goes on, uncounted,
    // rather than fail for the sake of a state dump.
    return UNRECORDED;
  }
}

/** Ends a wait registered by `enterWait`. */
export function leaveWait(i32: Int32Array, base: number, token: number): void {
  if (token < 0) {
    freeLedger(arena, -token);
    return;
  }
  if (token === UNRECORDED) return;
  const at = base + 2 * token;
  const n = (i32[at + 1] as number) - 1;
  Atomics.store(i32, at + 1, n);
  if (n === 0) Atomics.compareExchange(i32, at, ME, 0);
}

/** How many waits are pending in threads that are alive. */
export function countWaiters(i32: Int32Array, base: number): number {
  let n = countLedger(arena, i32[W_UID_LO] as number, i32[W_UID_HI] as number);
  for (let k = 0; k < SLOTS; k++) {
    const id = Atomics.load(i32, base + 2 * k);
    if (id !== 0 && !waiterDied(id)) n += Atomics.load(i32, base + 2 * k + 1);
  }
  return n;
}
