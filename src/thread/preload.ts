/**
 * Node 20 does not run the `--import` preloads of `execArgv` in Worker threads, although the
 * Workers inherit `execArgv`: a program run with `node --import tsx` would get threads that
 * cannot load `.ts` modules. The bootstrap imports those preloads itself, before the target, so
 * module targets see the same loaders as the main program. Where Node did run them already, the
 * import finds them in the module cache and nothing runs twice.
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { importModule } from '../shared/import.js';

// A variable, so that bundlers leave it alone: tsx must come from the program's own install.
// (importModule, not import(): the CommonJS build would turn an import() into a require().)
const TSX_API = 'tsx/esm/api';

/** The `--import` specifiers of this thread's `execArgv`, as importable URLs or bare names. */
export function importPreloads(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let k = 0; k < execArgv.length; k++) {
    const a = execArgv[k] as string;
    let spec: string | undefined;
    if (a === '--import') spec = execArgv[++k];
    else if (a.startsWith('--import=')) spec = a.slice('--import='.length);
    if (spec === undefined) continue;
    if (isAbsolute(spec)) out.push(pathToFileURL(spec).href);
    else if (spec.startsWith('./') || spec.startsWith('../')) out.push(pathToFileURL(resolve(spec)).href);
    else out.push(spec);
  }
  return out;
}

/** Imports the preloads; a failure is reported by the thread's target loading, not here. */
export async function runPreloads(): Promise<void> {
  for (const spec of importPreloads(process.execArgv)) {
    try {
      // tsx's `--import` entry registers its hooks only in the main thread on Node 20; its API
      // registers them in whichever thread calls it.
      if (spec === 'tsx' || /\/tsx\/dist\/(loader|esm\/index)\.mjs$/.test(spec)) {
        const api = (await importModule(TSX_API)) as unknown as { register(): unknown };
        api.register();
      } else await importModule(spec);
    } catch {
      // A preload that cannot load here (e.g. resolvable only from the program's folder) is
      // skipped: targets that need it fail with their own, clearer error.
    }
  }
}
