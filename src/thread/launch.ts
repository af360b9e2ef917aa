/**
 * Starting a thread's Worker, wherever it is started: in the main thread (threads the main thread
 * starts are its own Workers) or in the supervisor (every other thread's, on behalf of the thread
 * that asked; see `supervisor.ts`). So no thread other than the main one is another's Worker
 * parent, and Node's rule that a Worker dies with its parent never ends a thread's children with
 * it: threads are peers, as in Python.
 */
import { SHARE_ENV, Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * The execArgv a thread's Worker gets: `undefined` (inherit this thread's, which lets Node itself
 * drop per-process flags such as `--expose-gc`) unless it holds what only makes sense for a
 * program's entry (`--input-type`, `-e`/`--eval`, `-p`/`--print` and their code): Node 20
 * refuses to start a Worker that inherits `--input-type` (fixed upstream in nodejs/node#54979).
 */
export function workerExecArgv(argv: readonly string[] = process.execArgv): string[] | undefined {
  const out: string[] = [];
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k] as string;
    if (a === '--input-type' || a === '-e' || a === '--eval' || a === '-p' || a === '--print') k++;
    else if (!a.startsWith('--input-type=') && !a.startsWith('--eval=') && !a.startsWith('--print=')) out.push(a);
  }
  if (out.length === argv.length) return undefined;
  return out.filter((a) => !refusedFlags.has(a));
}

/** Flags a Worker refused when given explicitly (per-process ones), learnt once per thread. */
const refusedFlags = new Set<string>();

/** What a thread's Worker is started with, whoever starts it. */
export interface LaunchOptions {
  workerData: unknown;
  transferList: WorkerOptions['transferList'];
  /** `undefined`: inherit the starting thread's. */
  execArgv: string[] | undefined;
  resourceLimits: WorkerOptions['resourceLimits'];
}

/**
 * Starts a Worker sharing the process environment (`SHARE_ENV`: a thread sees and makes the same
 * `process.env` changes as every other, as Python's threads do). If an explicit execArgv holds
 * flags Node refuses for Workers (ERR_WORKER_INVALID_EXEC_ARGV names them), starts it again
 * without them.
 */
export function launchWorker(url: URL, o: LaunchOptions): Worker {
  const options: WorkerOptions = {
    workerData: o.workerData,
    transferList: o.transferList,
    env: SHARE_ENV,
    execArgv: o.execArgv?.filter((a) => !refusedFlags.has(a)),
    resourceLimits: o.resourceLimits,
  };
  try {
    return new Worker(url, options);
  } catch (e) {
    const err = e as { code?: string; message?: string };
    if (err.code !== 'ERR_WORKER_INVALID_EXEC_ARGV' || options.execArgv === undefined) throw e;
    const listed = (err.message ?? '').replace(/^[^:]*:\s*/, '').split(/,\s*/);
    for (const flag of listed) refusedFlags.add(flag.trim());
    const execArgv = options.execArgv.filter((a) => !refusedFlags.has(String(a)));
    return new Worker(url, { ...options, execArgv });
  }
}
