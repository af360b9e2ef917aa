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
  esbuildOptions(options) {
    // A bare import of a module that package.json says has no side effects is dropped: that is a
    // bug here (the thread bootstrap imports the modules that register the shareable kinds for
    // their side effects alone), so the build fails rather than warns.
    options.logOverride = { ...options.logOverride, 'ignored-bare-import': 'error' };
  },
});
