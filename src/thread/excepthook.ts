/**
 * `excepthook`: where an error that escapes a thread's target goes when nobody is waiting for
 * the thread's `result()`. It runs in the thread that created the failed thread. The default
 * prints like Python: `Exception in thread NAME:` and the stack, on stderr.
 *
 * A creator that is gone (returned, terminated, crashed) or that ends before reading its child's
 * outcome cannot run any hook: then the default report is printed by the failed thread itself or
 * by the supervisor (`worker.ts`, `supervisor.ts`). A shared claim word per failure makes the
 * report happen exactly once, whoever makes it.
 */
import { writeSync } from 'node:fs';
import { inspect } from 'node:util';
import { isMainThread } from 'node:worker_threads';
import { argTypeError } from '../errors.js';
import { type ExceptHook, runtime } from '../shared/runtime.js';
import { describe } from '../shared/validate.js';

export interface ExceptHookArgs {
  error: unknown;
  thread: { readonly name: string; readonly ident: number | undefined };
}

/** An error's stack; any other thrown value as `util.inspect` shows it (not `[object Object]`). */
function format(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  return inspect(error);
}

/** What the default hook prints for one failed thread. */
export function defaultText({ error, thread }: ExceptHookArgs): string {
  return `Exception in thread ${thread.name}:\n${format(error)}\n`;
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes to the process's stderr now, from any thread. Outside the main thread `process.stderr`
 * is a stream that the main thread's event loop forwards: while the main thread is blocked (in
 * `joinSync`, `Atomics.wait`) or after this Worker has exited, what it holds never appears. A
 * stderr left non-blocking by its owner may say EAGAIN when full: wait a little and go on.
 */
export function writeStderr(text: string): void {
  if (isMainThread) {
    process.stderr.write(text);
    return;
  }
  const bytes = Buffer.from(text);
  let at = 0;
  for (let again = 0; at < bytes.length && again < 1000; ) {
    try {
      at += writeSync(2, bytes, at);
    } catch (e) {
      if ((e as { code?: string }).code !== 'EAGAIN') return;
      again++;
      Atomics.wait(pause, 0, 0, 2);
    }
  }
}

/**
 * Takes the right to report one failed thread's error (see `worker.ts`): true for the first
 * caller only, whether that is its creator, the failed thread or the supervisor.
 */
export function claimReport(claim: Int32Array | undefined): boolean {
  return claim === undefined || Atomics.compareExchange(claim, 0, 0, 1) === 0;
}

function defaultHook(args: ExceptHookArgs): void {
  writeStderr(defaultText(args));
}

/**
 * A hook that failed: as Python, its own error is reported as the hook's, and the thread's
 * error it was handling is printed too rather than lost.
 */
function hookFailed(args: ExceptHookArgs, hookError: unknown): void {
  writeStderr(`${defaultText(args)}Exception in threading.excepthook:\n${format(hookError)}\n`);
}

/**
 * Replaces the hook for uncaught thread errors (process-wide); `undefined` restores the default.
 * A hook may be async: a rejection is reported like a throw.
 */
export function setExcepthook(hook: ((args: ExceptHookArgs) => void) | undefined | null): void {
  if (hook !== undefined && hook !== null && typeof hook !== 'function') {
    throw argTypeError(`Expected \`hook\` to be a function or undefined, got ${describe(hook)}`);
  }
  runtime().excepthook = (hook ?? undefined) as ExceptHook | undefined;
}

/** Reports an uncaught thread error to the current hook; a hook that throws or rejects is reported too. */
export function reportUncaught(args: ExceptHookArgs): void {
  const hook = (runtime().excepthook as ((a: ExceptHookArgs) => unknown) | undefined) ?? defaultHook;
  let returned: unknown;
  try {
    returned = hook(args);
  } catch (e) {
    hookFailed(args, e);
    return;
  }
  // An async hook: its rejection would otherwise be an unhandled rejection, which ends the process.
  if (typeof (returned as PromiseLike<unknown> | null)?.then === 'function') {
    Promise.resolve(returned).then(undefined, (e: unknown) => hookFailed(args, e));
  }
}
