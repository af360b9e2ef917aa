/**
 * Helpers of the command-line tests: run the built `threadkit` command (dist/cli.js, what
 * package.json `bin` names) or any node program in a child process, with its own environment.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

export interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs `node ...args` with stdout and stderr piped (so the command sees no terminal), `CI` unset
 * unless `env` sets it, and a deadline after which the child is killed and the promise rejects
 * with what it printed.
 */
export function run(
  args: string[],
  {
    env = {},
    timeout = 60_000,
    cwd = ROOT,
  }: { env?: Record<string, string | undefined>; timeout?: number; cwd?: string } = {},
): Promise<Ran> {
  const started = performance.now();
  const childEnv: Record<string, string | undefined> = { ...process.env, CI: undefined, ...env };
  for (const k of Object.keys(childEnv)) if (childEnv[k] === undefined) delete childEnv[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env: childEnv as NodeJS.ProcessEnv, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end();
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node ${args.join(' ')} exceeded ${timeout} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeout);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/** Runs the built command: `threadkit ...args`. */
export function threadkit(args: string[], options?: Parameters<typeof run>[1]): Promise<Ran> {
  return run([CLI, ...args], options);
}

/** An ANSI escape sequence (colours, cursor moves): none may reach a pipe. */
export const ESCAPE = new RegExp(`${String.fromCharCode(0x1b)}\\[`);
