/**
 * The supervisor: one process-wide Worker, started by the main thread on first need, that holds
 * a MessagePort per thread. When a thread dies in any way (return, crash, `process.exit`,
 * `terminate()`, out of memory) its end of the port closes and the supervisor marks it in the
 * status table and wakes its joiners. A Worker's own `'exit'` event needs its creator's event
 * loop; the supervisor's does not depend on any other thread, so deaths are seen even while the
 * creator is blocked in a sync wait. It starts the Workers of threads that threads other than the
 * main one start (`thread/launch.ts`), and keeps the shared buffers referenced by queue items
 * (`wire/sabs.ts`).
 */
import { MessageChannel, type MessagePort, SHARE_ENV, Worker } from 'node:worker_threads';
import { entryUrl } from './entries.js';
import { runtime } from './runtime.js';

/** This thread's port to the supervisor, starting the supervisor if this is the first need. */
export function supervisorPort(): MessagePort {
  const rt = runtime();
  if (rt.supervisorPort !== undefined) return rt.supervisorPort;
  // Only a thread not started by threadkit lacks a port: the main thread, or a foreign Worker,
  // which then gets a supervisor of its own.
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(entryUrl('supervisor'), {
    workerData: { __threadkitSupervisor: { arena: rt.arena, port: port2 } },
    transferList: [port2],
    // The supervisor needs no loader: keep tsx and the like out of its start-up. It shares the
    // process environment, which the threads it starts (and its own settings) read.
    execArgv: [],
    env: SHARE_ENV,
    stdout: false,
    stderr: false,
  });
  worker.on('error', (e: unknown) => {
    process.emitWarning(`threadkit: the supervisor thread failed; deaths of threads may go unseen: ${String(e)}`, {
      code: 'THREADKIT_SUPERVISOR',
    });
  });
  worker.unref();
  // THREADKIT_DEADLOCK=abort: the watchdog asks the main thread to exit (code 3) on this port
  // when the main thread is not blocked (a blocked one looks at the arena, `wait.ts`).
  if (process.env.THREADKIT_DEADLOCK === 'abort') {
    port1.on('message', (m: { op?: string; code?: number }) => {
      if (m?.op === 'exit') process.exit(m.code);
    });
  }
  port1.unref();
  rt.supervisorPort = port1;
  return port1;
}

/** Asks the supervisor to watch a new thread: returns the port the thread must keep. */
export function watchThread(ident: number): MessagePort {
  const { port1, port2 } = new MessageChannel();
  supervisorPort().postMessage({ op: 'watch', ident, port: port1 }, [port1]);
  return port2;
}
