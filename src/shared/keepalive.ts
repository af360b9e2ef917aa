/**
 * A pending `Atomics.waitAsync` does not keep Node's event loop alive
 * (https://github.com/nodejs/node/issues/44729): a script whose only work is `await lock.acquire()`
 * while other threads hold the lock would exit early. Every Promise-form wait holds this handle
 * while it is pending, as a blocked Python thread keeps the interpreter running.
 */
let pending = 0;
let handle: ReturnType<typeof setInterval> | undefined;

const noop = (): void => {};

/** Marks one more pending wait; the process stays alive until the matching `unhold()`. */
export function hold(): void {
  if (pending++ === 0) {
    if (handle === undefined) handle = setInterval(noop, 0x3fffffff);
    else handle.ref();
  }
}

/** Ends one pending wait. */
export function unhold(): void {
  if (--pending === 0) handle?.unref();
}
