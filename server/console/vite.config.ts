import { defineConfig } from 'vite'
import { licenses } from '../../scripts/vite-licenses.ts'

// Served by the Textgate server under /console: index.html for every console path, the
// hashed assets at /console/assets/. No inline script or style anywhere (the console's CSP).
export default defineConfig({
  base: '/console/',
  plugins: [
    // dist/assets/console.licenses.txt beside the entry, served at
    // /console/assets/console.licenses.txt, and a banner atop the entry naming it.
    licenses({ fileName: 'assets/console.licenses.txt', product: 'Textgate console' }),
  ],
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
