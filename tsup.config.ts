import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    // What a thread runs first, and the supervisor that watches every thread's death.
    worker: 'src/thread/worker.ts',
    supervisor: 'src/thread/supervisor.ts',
    // The target of every pool thread (loaded by URL, as task() targets are).
    'pool-worker': 'src/pool/worker-loop.ts',
  },
  format: ['esm', 'cjs'],
  target: 'node20',
  external: ['tsx'],
  platform: 'node',
  dts: { entry: { index: 'src/index.ts' } },
  // One copy of each module per build: the bootstrap and the user's import share module state.
  splitting: true,
  shims: true,
  sourcemap: true,
  clean: true,
  outDir: 'dist', // npm run build writes .dist-tmp and renames it, so a running test never sees a half-built dist
});
