/**
 * Where the files a Worker runs live: next to this module in the build (`dist/worker.js` or
 * `.cjs`, matching the build that is running), or in `src/` when run from source.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = import.meta.url;
const ext = extname(fileURLToPath(here));
const fromSource = /\/src\/shared\/[^/]+$/.test(here);

const sources = {
  worker: '../thread/worker',
  supervisor: '../thread/supervisor',
  'pool-worker': '../pool/worker-loop',
};

export function entryUrl(name: 'worker' | 'supervisor' | 'pool-worker'): URL {
  return new URL(fromSource ? `${sources[name]}${ext}` : `./${name}${ext}`, here);
}
