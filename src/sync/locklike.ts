/** What `Condition` needs from its lock (`Lock` or `RLock`). */
import { argTypeError } from '../errors.js';
import type { AcquireOptions } from '../shared/validate.js';
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
  await lock.acquire();
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

/** The blocking twin of `withAcquired`. */
export function withAcquiredSync<T>(lock: { acquireSync(): boolean; release(): void }, fn: () => T): T {
  lock.acquireSync();
  try {
    return fn();
  } finally {
    lock.release();
  }
}

/** Sync forms cannot observe an AbortSignal: passing one is a mistake worth reporting. */
export function rejectSignalInSync(options: unknown, where: string): void {
  if (options !== null && typeof options === 'object' && (options as { signal?: unknown }).signal !== undefined) {
    throw argTypeError(
      `${where} cannot observe \`signal\`: a blocked thread runs no code until it wakes. Use the Promise form, or a \`timeout\``,
    );
  }
}
