/**
 * Owner death: a lock never stays held forever by a dead thread.
 *
 * A lock records its holder's ident. Nothing can run in a thread that died, and a lock's memory
 * is known only to the threads that hold a reference to it, so the release is done lazily by
 * whoever next observes the lock held: a waiter (its parks have `poll: true`, so it re-checks
 * every POLL_MS), a non-blocking acquire, `locked()`. Since every observation checks, the lock
 * behaves as if released at the holder's death. The thread's fate is read from the status table,
 * which the supervisor keeps current even while every other thread is blocked.
 */
import { EXITED, runtime, State, STATE_MASK, statusOf, LIVE_BASE, LIVE_WORDS, readName } from '../shared/runtime.js';

const i32 = runtime().i32;

/** For a `Lock`: the holder crashed, exited or was terminated (a normal return keeps it locked). */
export function diedAbnormally(ident: number): boolean {
  const s = statusOf(i32, ident);
  const state = s & STATE_MASK;
  return state === State.DoneError || state === State.Died;
}

/** For an `RLock`: the owner thread ended, however. */
export function ended(ident: number): boolean {
  const s = statusOf(i32, ident);
  return (s & STATE_MASK) !== State.Running || (s & EXITED) !== 0;
}

/** For waiters: the thread is gone (its Worker exited, or it died), so it waits no more. */
export function waiterDied(ident: number): boolean {
  const s = statusOf(i32, ident);
  return (s & EXITED) !== 0 || (s & STATE_MASK) === State.Died;
}

/** A thread's name for messages, while its live row still remembers it. */
export function nameOfIdent(ident: number): string {
  const s = statusOf(i32, ident);
  const row = (s >>> 8) - 1;
  if (row >= 0 && Atomics.load(i32, LIVE_BASE + row * LIVE_WORDS + 4) === ident) {
    return `${readName(i32, row)} (ident ${ident})`;
  }
  return `ident ${ident}`;
}

/** Says on stderr that a dead holder's lock was released. */
export function warnDeadHolder(kind: string, ident: number): void {
  process.emitWarning(`${kind} held by thread ${nameOfIdent(ident)}, which ended without releasing it, was released`, {
    code: 'THREADKIT_DEAD_HOLDER',
    type: 'ThreadkitWarning',
  });
}
