/**
 * Non-daemon threads keep the process alive until they finish, as Python's interpreter waits for
 * them at exit; daemon threads never do. Worker references alone cannot express that: a daemon
 * thread may start a non-daemon one (whose Worker lives inside the daemon's), and a thread's
 * children live on after its target returns, which must not keep the process alive through a
 * non-daemon parent's Worker when those children are daemons.
 *
 * So the decision is made from the arena: the main thread sleeps on `H_LIVE_GEN` (bumped whenever
 * a thread starts or stops running, process-wide) with `Atomics.waitAsync`, and after each change
 * looks through the live table for a running non-daemon thread, holding the keepalive handle while
 * there is one. The table is the only record of who runs (no counter that a thread killed halfway
 * through `start()` could leave off by one). A pending `waitAsync` alone does not keep the process
 * alive, so when no non-daemon thread runs the watcher costs nothing and lets the process exit.
 */
import { hold, unhold } from '../shared/keepalive.js';
import { anyNonDaemonRunning, H_LIVE_GEN, runtime } from '../shared/runtime.js';

/** Starts the main thread's watcher (once per process, whichever build asks; a no-op in other threads). */
export function watchNonDaemonThreads(): void {
  const rt = runtime();
  if (!rt.isMain || rt.slots.has('nonDaemonWatcher')) return;
  rt.slots.set('nonDaemonWatcher', true);
  const i32 = rt.i32;
  let held = false;
  let release: ReturnType<typeof setTimeout> | undefined;
  const step = (): void => {
    const gen = Atomics.load(i32, H_LIVE_GEN);
    if (anyNonDaemonRunning(i32)) {
      if (release !== undefined) clearTimeout(release);
      release = undefined;
      if (!held) hold();
      held = true;
    } else if (held && release === undefined) {
      // The last non-daemon thread has finished; what it printed may still be on its way
      // through its parents' Workers. A short grace lets it arrive before the process may exit.
      release = setTimeout(() => {
        release = undefined;
        if (held && !anyNonDaemonRunning(i32)) {
          held = false;
          unhold();
        }
      }, EXIT_GRACE_MS);
    }
    const r = Atomics.waitAsync(i32, H_LIVE_GEN, gen);
    if (r.async) void r.value.then(step);
    else queueMicrotask(step);
  };
  step();
}

/** How long the process stays up after the last non-daemon thread finished, for its output. */
export const EXIT_GRACE_MS = 100;
