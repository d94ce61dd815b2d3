import { defineConfig } from 'vite'

// Served by the Textgate server under /console: index.html for every console path, the
// hashed assets at /console/assets/. No inline script or style anywhere (the console's CSP).
export default defineConfig({
  base: '/console/',
  build: {
    target: 'es2022',
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    modulePreload: false,
    cssCodeSplit: false,
    assetsInlineLimit: 0,
    sourcemap: false,
  },
})
