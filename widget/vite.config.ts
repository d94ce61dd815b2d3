import { defineConfig } from 'vite'

// One self-contained ES module, served by the Textgate server at /widget.js.
export default defineConfig({
  build: {
    lib: { entry: 'src/index.ts', formats: ['es'], fileName: () => 'widget.js' },
    target: 'es2022',
    minify: true,
    sourcemap: false,
    rollupOptions: { output: { inlineDynamicImports: true } },
  },
})
