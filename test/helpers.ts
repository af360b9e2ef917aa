/**
 * Shared test helpers. Tests import the built package by name ('threadkit'), so they exercise
 * the real artifact, its exports map and its worker bootstrap; they run under tsx, so function
 * targets written here carry the `__name` helpers esbuild inserts.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { Thread } from 'threadkit';

/** Is the long stress mode on (`npm run test:stress`)? */
export const STRESS = process.env.THREADKIT_STRESS === '1';

/**
 * Runs `fn(...args)` in a new thread and returns its result. A deadline (ms) turns a hang into a
 * failure that shows `state` (e.g. the primitives involved) via util.inspect.
 */
export async function inThread<R>(
  fn: (...args: any[]) => R | Promise<R>,
  args: unknown[] = [],
  { deadline = 30_000, state }: { deadline?: number; state?: unknown } = {},
): Promise<Awaited<R>> {
  const t = new Thread<Awaited<R>>({ target: fn as (...a: any[]) => Awaited<R>, args });
  t.start();
  return withDeadline(t.result(), deadline, state, async () => {
    await t.terminate();
  });
}

/** Rejects if `p` has not settled within `ms`, with the inspected `state` in the message. */
export async function withDeadline<T>(
  p: Promise<T>,
  ms: number,
  state?: unknown,
  onTimeout?: () => Promise<void>,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(async () => {
      await onTimeout?.();
      reject(new Error(`deadline of ${ms} ms exceeded; state: ${inspect(state, { depth: 3 })}`));
    }, ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a Node.js program (ESM source, or a file) in a child process and collects its output. */
export function runNode(
  args: string[],
  { timeout = 60_000, input, cwd }: { timeout?: number; input?: string; cwd?: string } = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: cwd ?? fileURLToPath(new URL('..', import.meta.url)),
      stdio: 'pipe',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child process exceeded ${timeout} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeout);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

/** Runs an ESM program given as source text in a child process (with the package resolvable). */
export function runScript(source: string, options?: { timeout?: number; tsx?: boolean }) {
  const args = options?.tsx
    ? ['--import', 'tsx', '--input-type=module', '-e', source]
    : ['--input-type=module', '-e', source];
  return runNode(args, options);
}
