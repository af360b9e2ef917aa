/**
 * Helpers for the transport tests (SPEC "What crosses a thread boundary").
 */
import assert from 'node:assert/strict';
import type { TransferListItem } from 'node:worker_threads';
import { Thread } from 'threadkit';
import { withDeadline } from './helpers.js';

/** The test-only module that reaches the bytes path of the codec (see its header). */
export const BYTES_FIXTURE = new URL('./fixtures/transport/bytes.ts', import.meta.url).href;

/**
 * Runs `fn(...args)` in a new thread (with `transfer`, unlike `inThread`) and returns its result;
 * a deadline (ms) terminates the thread and fails.
 */
export async function runThread<R>(
  fn: (...args: any[]) => R | Promise<R>,
  args: unknown[] = [],
  { transfer, deadline = 30_000, state }: { transfer?: TransferListItem[]; deadline?: number; state?: unknown } = {},
): Promise<Awaited<R>> {
  const t = new Thread<Awaited<R>>({
    target: fn as (...a: any[]) => Awaited<R>,
    args,
    ...(transfer ? { transfer } : {}),
  });
  t.start();
  return withDeadline(t.result(), deadline, state, async () => {
    await t.terminate();
  });
}

/** The error a thread's `result()` rejects with (fails if it fulfils). */
export async function threadError(
  fn: (...args: any[]) => unknown,
  args: unknown[] = [],
  options?: { deadline?: number },
): Promise<any> {
  let value: unknown;
  try {
    value = await runThread(fn, args, options);
  } catch (error) {
    return error;
  }
  assert.fail(`expected the thread to fail, it returned ${String(value)}`);
}

/** The error `fn()` throws synchronously (fails if it does not). */
export function thrownBy(fn: () => unknown): any {
  try {
    fn();
  } catch (error) {
    return error;
  }
  assert.fail('expected a throw');
}

/** Waits (without blocking the event loop) until `flag[index]` is no longer `value`. */
export async function waitWhile(flag: Int32Array, index: number, value: number, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Atomics.load(flag, index) === value) {
    const left = deadline - Date.now();
    if (left <= 0) assert.fail(`flag[${index}] stayed ${value} for ${ms} ms`);
    const r = Atomics.waitAsync(flag, index, value, left);
    if (r.async) await r.value;
  }
}

/** A small Int32Array over a fresh SharedArrayBuffer, for handshakes that use no primitive. */
export function sharedFlags(n = 4): Int32Array {
  return new Int32Array(new SharedArrayBuffer(n * 4));
}
