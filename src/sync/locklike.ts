/** What `Condition` needs from its lock (`Lock` or `RLock`). */
import { argTypeError } from '../errors.js';
import { type AcquireOptions, argumentCheck } from '../shared/validate.js';
import type { Steps } from '../shared/wait.js';

export interface LockLike {
  acquire(options?: AcquireOptions): Promise<boolean>;
  acquireSync(options?: Omit<AcquireOptions, 'signal'>): boolean;
  release(): void;
  /** @internal Whether this thread may wait/notify (Python's `_is_owned`). */
  _isOwned(): boolean;
  /** @internal Fully releases; the value restores the state (an RLock's recursion count). */
  _releaseSave(): number;
  /** @internal Re-acquires (untimed, not abortable) and restores the saved state. */
  _acquireRestoreSteps(saved: number): Steps<boolean>;
}

/** Python's `with lock:`: acquires, awaits `fn()`, releases even if it throws. */
export async function withAcquired<T>(
  lock: { acquire(): Promise<boolean>; release(): void },
  fn: () => T | PromiseLike<T>,
): Promise<Awaited<T>> {
  if (typeof fn !== 'function') throw argTypeError(argumentCheck('fn', 'a function', fn));
  await lock.acquire();
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

function isThenable(value: unknown): boolean {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * The blocking twin of `withAcquired`. It cannot hold the lock across an `await`: an async `fn`
 * is refused before the lock is taken, and a `fn` that returns a promise anyway throws once the
 * lock is released, rather than leave its body running unprotected without a word.
 */
export function withAcquiredSync<T>(lock: { acquireSync(): boolean; release(): void }, fn: () => T): T {
  if (typeof fn !== 'function') throw argTypeError(argumentCheck('fn', 'a function', fn));
  if (Object.prototype.toString.call(fn) === '[object AsyncFunction]') {
    throw argTypeError(
      `Expected \`fn\` to be a synchronous function, got an async function${fn.name ? ` (${fn.name})` : ''}: ` +
        'withLockSync would release the lock at its first await. Use `await withLock(fn)`',
    );
  }
  lock.acquireSync();
  let result: T;
  try {
    result = fn();
  } finally {
    lock.release();
  }
  if (isThenable(result)) {
    throw argTypeError(
      '`fn` returned a promise, but withLockSync released the lock as soon as `fn` returned, before the ' +
        'promise settled: use `await withLock(fn)` to hold the lock until it does',
    );
  }
  return result;
}

/** Sync forms cannot observe an AbortSignal: passing one is a mistake worth reporting. */
export function rejectSignalInSync(options: unknown, where: string): void {
  if (options !== null && typeof options === 'object' && (options as { signal?: unknown }).signal !== undefined) {
    throw argTypeError(
      `${where} cannot observe \`signal\`: a blocked thread runs no code until it wakes. Use the Promise form, or a \`timeout\``,
    );
  }
}
