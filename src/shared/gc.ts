/**
 * A full garbage collection on demand, for the few places where memory outside V8's heap waits
 * on a collection that V8's own heuristics would not start soon: shared buffers that only a
 * finalizer (a dropped queue's) or another isolate's collection (the supervisor's) lets go.
 * `gc` is taken from a context made while `--expose-gc` is briefly on; the flag is turned off
 * again at once, so no user code sees a `gc` it did not ask for.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | null | undefined;

/** Runs a full collection; false if this isolate cannot (the `gc` function is made on first use). */
export function collectGarbage(): boolean {
  if (gc === undefined) gc = obtain();
  if (gc === null) return false;
  gc();
  return true;
}

function obtain(): (() => void) | null {
  // Started with --expose-gc (a V8 flag, so every isolate has it): use it, and leave the flag be.
  const own = (globalThis as { gc?: () => void }).gc;
  if (typeof own === 'function') return own;
  try {
    setFlagsFromString('--expose-gc');
    const made = runInNewContext('gc') as () => void;
    setFlagsFromString('--no-expose-gc');
    return typeof made === 'function' ? made : null;
  } catch {
    return null;
  }
}
