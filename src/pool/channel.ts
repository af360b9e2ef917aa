/**
 * The shared memory between a pool's creating thread and its threads: the dispatch path.
 *
 * ## The pool's control buffer (`POOL_WORDS` Int32 words, one per pool)
 * - `P_EV`: the creator's doorbell. A thread that publishes a result while `P_SLEEPING` is set
 *   bumps it and notifies; the creator's one completion loop sleeps on it (`Atomics.waitAsync`).
 * - `P_SLEEPING`: 1 while the creator may be asleep (set before its last look, cleared after).
 * - `P_SHUTDOWN`: 1 once the pool is shut down: idle threads exit.
 * - `P_THREADS`: threads alive (a thread retires only by a CAS that keeps it >= `P_MIN`).
 * - `P_MIN`, `P_IDLE_MS`: `minThreads`, `idleTimeout`.
 * - `P_CREATOR`: the creating thread's ident: its threads exit if it dies.
 *
 * ## A thread's channel (`CHANNEL_WORDS`, one per pool thread): a ring of `RING` task slots
 * Counters, each a wrapping 32-bit count of slots and each on a cache line of its own:
 * - `C_SUBMIT` (creator): tasks published. A retiring thread sets `RETIRED` in it by a CAS that
 *   succeeds only if nothing new was published, and the creator publishes by a CAS that fails
 *   once it is set: no task is ever handed to a thread that left.
 * - `C_TAKEN` (thread): slots the thread has passed (begun, or skipped when cancelled).
 * - `C_DONE` (thread): slots whose outcome is published (run, or skipped).
 * - `C_COLLECTED` (creator): slots whose outcome the creator has read: free again.
 * - `C_SLEEPING` (thread): 1 while the thread may be asleep on `C_SUBMIT`.
 * - `C_READY` (thread): 1 once started (and its initializer ran), -1 if it failed to.
 * - `C_HALT` (creator): 1 while the creator decides whether to terminate the thread for the task
 *   it runs: the thread begins no task meanwhile (it sleeps on the word until it is 0 again).
 *
 * Slot `n % RING` (`SLOT_WORDS` words from `slotAt`):
 * - `S_STATE`: `FREE` → `PENDING` (creator, before publishing) → `RUNNING` (the thread, by CAS,
 *   as it begins) → `DONE` (the thread, with the outcome written). `cancel()` moves `PENDING` to
 *   `CANCELLED` by CAS: exactly one of the thread's begin and the creator's cancel wins, so a
 *   cancelled task never runs and a begun one is never called cancelled.
 * - `S_TARGET`: the target's id (its source travels once per thread, on the thread's port).
 * - `S_FLAGS`: `F_PORT_ARGS` (the arguments came on the port), `F_EACH` (a `map` chunk: call the
 *   target once per item of the only argument, return the array of results).
 * - `S_RESULT`: how the outcome travels: `R_PACKED` (in the slot), `R_PORT` (a value on the
 *   port), `R_THROWN` (an error on the port).
 * - `S_STARTED`: when the thread began it (float64 ms, `performance.timeOrigin + now()`, the
 *   clock all threads share): timeouts count from there. `S_RAN`: how long it ran (float64 ms):
 *   the creator sizes how many tasks it hands a thread ahead from it.
 * - `S_PAYLOAD…`: the packed arguments (`packed.ts`), then the packed result.
 */

export const P_EV = 0;
export const P_SLEEPING = 1;
export const P_SHUTDOWN = 2;
export const P_THREADS = 16;
export const P_MIN = 17;
export const P_IDLE_MS = 18;
export const P_CREATOR = 19;
export const POOL_WORDS = 32;

export const C_SUBMIT = 0;
export const C_TAKEN = 32;
export const C_DONE = 64;
export const C_COLLECTED = 96;
export const C_SLEEPING = 33;
export const C_READY = 34;
export const C_HALT = 35;

/** Set in `C_SUBMIT` by a thread that retired. */
export const RETIRED = 1 << 30;
export const COUNT_MASK = RETIRED - 1;

export const RING = 1024;
export const SLOT_WORDS = 32;
const SLOTS_BASE = 128;
export const CHANNEL_WORDS = SLOTS_BASE + RING * SLOT_WORDS;

export const S_STATE = 0;
export const S_TARGET = 1;
export const S_FLAGS = 2;
export const S_RESULT = 3;
/** Float64 (words 4-5 of an even slot base). */
export const S_STARTED = 4;
/** Float64: how long it ran (ms), written with the outcome. */
export const S_RAN = 6;
export const S_PAYLOAD = 8;
export const SLOT_END = SLOT_WORDS;

export const FREE = 0;
export const PENDING = 1;
export const RUNNING = 2;
export const DONE = 3;
export const CANCELLED = 4;

export const F_PORT_ARGS = 1;
export const F_EACH = 2;

export const R_PACKED = 0;
export const R_PORT = 1;
export const R_THROWN = 2;

/** Word index of slot `n`'s first word (`n` counts slots ever published). */
export function slotAt(n: number): number {
  return SLOTS_BASE + (n & (RING - 1)) * SLOT_WORDS;
}

/** The clock every thread of the process shares (ms). */
export function sharedNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Messages on a thread's port, creator → thread. */
export type ToThread =
  | { t: 'target'; id: number; target: import('../wire/target.js').TargetDescriptor }
  | { t: 'args'; n: number; args: import('../wire/codec.js').Encoded };

/** Messages on a thread's port, thread → creator. */
export type FromThread = { t: 'result'; n: number; v: import('../wire/codec.js').Encoded };
