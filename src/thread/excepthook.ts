/**
 * `excepthook`: where an error that escapes a thread's target goes when nobody is waiting for
 * the thread's `result()`. It runs in the thread that created the failed thread. The default
 * prints like Python: `Exception in thread NAME:` and the stack, on stderr.
 */
import { inspect } from 'node:util';
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

function defaultText({ error, thread }: ExceptHookArgs): string {
  return `Exception in thread ${thread.name}:\n${format(error)}\n`;
}

function defaultHook(args: ExceptHookArgs): void {
  process.stderr.write(defaultText(args));
}

/**
 * A hook that failed: as Python, its own error is reported as the hook's, and the thread's
 * error it was handling is printed too rather than lost.
 */
function hookFailed(args: ExceptHookArgs, hookError: unknown): void {
  process.stderr.write(`${defaultText(args)}Exception in threading.excepthook:\n${format(hookError)}\n`);
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
