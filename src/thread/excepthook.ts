/**
 * `excepthook`: where an error that escapes a thread's target goes when nobody is waiting for
 * the thread's `result()`. It runs in the thread that created the failed thread. The default
 * prints like Python: `Exception in thread NAME:` and the stack, on stderr.
 */
import { argTypeError } from '../errors.js';
import { type ExceptHook, runtime } from '../shared/runtime.js';
import { describe } from '../shared/validate.js';

export interface ExceptHookArgs {
  error: unknown;
  thread: { readonly name: string; readonly ident: number | undefined };
}

function defaultHook({ error, thread }: ExceptHookArgs): void {
  const text = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
  process.stderr.write(`Exception in thread ${thread.name}:\n${text}\n`);
}

/** Replaces the hook for uncaught thread errors (process-wide); `undefined` restores the default. */
export function setExcepthook(hook: ((args: ExceptHookArgs) => void) | undefined | null): void {
  if (hook !== undefined && hook !== null && typeof hook !== 'function') {
    throw argTypeError(`Expected \`hook\` to be a function or undefined, got ${describe(hook)}`);
  }
  runtime().excepthook = (hook ?? undefined) as ExceptHook | undefined;
}

/** Reports an uncaught thread error to the current hook (a hook that throws is reported too). */
export function reportUncaught(args: ExceptHookArgs): void {
  const hook = (runtime().excepthook as ((a: ExceptHookArgs) => void) | undefined) ?? defaultHook;
  try {
    hook(args);
  } catch (e) {
    defaultHook({ error: e, thread: args.thread });
  }
}
