import { defineConfig } from 'vite'

// The entry is served by the Textgate server at /widget.js; translations other than English and
// each country's phone metadata are separate chunks under /chunks/, loaded only when used.
// Not a "lib" build: Vite leaves whitespace unminified in ES library builds.
export default defineConfig({
  build: {
    target: 'es2022',
    minify: true,
    sourcemap: false,
    modulePreload: false,
    emptyOutDir: true,
    // dist/.vite/manifest.json: which chunk holds which module, for scripts/size.mjs.
    manifest: true,
    rollupOptions: {
      input: 'src/index.ts',
      preserveEntrySignatures: 'strict',
      output: {
        entryFileNames: 'widget.js',
        chunkFileNames: 'chunks/[name]-[hash].js',
      },
    },
  },
})
