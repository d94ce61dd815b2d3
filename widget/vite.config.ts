import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { defineConfig, type Plugin, version as viteVersion } from 'vite'
import { licenses } from '../scripts/vite-licenses.ts'

const METADATA_DIR = join(import.meta.dirname, 'src', 'phone', 'metadata')

/**
 * One hash for every phone metadata chunk: that of all their sources and the bundler's version.
 * widget.js lists a loader per calling code (about 200); with one shared hash in their names
 * instead of one random hash each, that list compresses to a third (about 1.4 kB gzip less).
 * The names still change whenever any metadata does, so they stay safe to cache for a year.
 */
function metadataHash(): string {
  const hash = createHash('sha256').update(viteVersion)
  for (const name of readdirSync(METADATA_DIR).sort()) {
    hash.update(name).update(readFileSync(join(METADATA_DIR, name)))
  }
  return hash.digest('base64url').slice(0, 8)
}
const METADATA_HASH = metadataHash()

// The entry is served by the Textgate server at /widget.js; translations other than English and
// each country's phone metadata are separate chunks under /chunks/, loaded only when used.
// Not a "lib" build: Vite leaves whitespace unminified in ES library builds.
// `--mode module` builds the npm package's entry for bundlers instead (scripts/pack.mjs): the
// same code with `lit` left as an import, so a store whose own code uses Lit loads it once.
export default defineConfig(({ mode }) => ({
  plugins: [
    // The npm package's entry keeps the table of imports: a store's bundler follows those.
    mode === 'module' ? [] : metadataLoader(),
    collapseTemplates(),
    plainDynamicImports(),
    // dist/widget.licenses.txt (served at /widget.licenses.txt) and a banner naming it.
    licenses({
      fileName: 'widget.licenses.txt',
      product: 'Textgate widget',
      derived: [
        {
          dir: METADATA_DIR,
          from: 'libphonenumber-js',
          note: "Its metadata.max.json, from Google's libphonenumber under the Apache License 2.0 (LICENSE.Apache below), is also in the widget, split by calling code into chunks/<code>-*.js (widget/scripts/metadata.mjs).",
        },
      ],
    }),
  ],
  // A JSON module (a country's phone metadata) is only ever read whole, as its default export.
  json: { namedExports: false },
  build: {
    target: 'es2022',
    minify: true,
    sourcemap: false,
    modulePreload: false,
    emptyOutDir: true,
    // dist/.vite/manifest.json: which chunk holds which module, for scripts/size.mjs.
    manifest: mode !== 'module',
    rollupOptions: {
      input: 'src/index.ts',
      preserveEntrySignatures: 'strict',
      external: mode === 'module' ? [/^lit(\/|$)/, /^@lit\//] : [],
      output: {
        entryFileNames: mode === 'module' ? 'index.js' : 'widget.js',
        chunkFileNames: (chunk) =>
          chunk.facadeModuleId?.startsWith(METADATA_DIR)
            ? `chunks/[name]-${METADATA_HASH}.js`
            : 'chunks/[name]-[hash].js',
      },
    },
  },
}))

// A Vite plugin for the built widget: the html`` and css`` templates keep their source
// indentation and CSS comments through minification (the minifier leaves template text alone).
// In every template literal of the output it turns a newline followed by spaces into one space
// and drops `/* … */` comments that start with "/* ": HTML and CSS render the same, and the
// widget is smaller. A newline not followed by a space (Lit's own `[ \t\n\f\r]` pattern,
// libraries' multi-line messages) is left as it is.
function collapseTemplates(): Plugin {
  return {
    name: 'textgate-collapse-templates',
    apply: 'build',
    renderChunk(code) {
      const edits: [number, number, string][] = []
      // biome-ignore lint/suspicious/noExplicitAny: a walk over any ESTree node.
      const visit = (node: any): void => {
        if (!node || typeof node !== 'object') return
        if (Array.isArray(node)) {
          for (const child of node) visit(child)
          return
        }
        if (node.type === 'TemplateElement') {
          const raw = code.slice(node.start, node.end)
          const collapsed = raw.replace(/\/\* [^*]*\*\//g, '').replace(/\n +/g, ' ')
          if (collapsed !== raw) edits.push([node.start, node.end, collapsed])
          return
        }
        for (const key in node) {
          if (key !== 'parent' && key !== 'type') visit(node[key])
        }
      }
      visit(this.parse(code))
      if (!edits.length) return null
      edits.sort((a, b) => b[0] - a[0])
      let out = code
      for (const [start, end, text] of edits) out = out.slice(0, start) + text + out.slice(end)
      return { code: out, map: null }
    },
  }
}

// Vite wraps every dynamic import in its preload helper, which adds the chunk's CSS and module
// preloads first. The widget's chunks have neither (no CSS files; modulePreload is off), so each
// `__vitePreload(load, __VITE_PRELOAD__)` becomes `(load)()`, and the unused helper (about
// 0.6 kB gzip) drops out at minification.
function plainDynamicImports(): Plugin {
  return {
    name: 'textgate-plain-dynamic-imports',
    apply: 'build',
    enforce: 'post',
    renderChunk(code) {
      const calls = code.split('__vitePreload(').length - 1
      const ends = code.split(', __VITE_PRELOAD__)').length - 1
      if (calls === 0) return null
      if (calls !== ends) this.error(`expected ${calls} preload markers, found ${ends}`)
      const plain = code.replaceAll('__vitePreload(', '(').replaceAll(', __VITE_PRELOAD__)', ')()')
      return { code: plain, map: null }
    },
  }
}

// widget.js loads a country's phone metadata with one import of the chunk's name,
// `./chunks/<calling code>-<METADATA_HASH>.js`, instead of a table of about 200 loaders, one per
// code (0.9 kB gzip). The chunks are still built, named as before: each is emitted here.
function metadataLoader(): Plugin {
  const index = join(METADATA_DIR, 'index.ts')
  const table = '\nconst LOADERS:'
  return {
    name: 'textgate-metadata-loader',
    apply: 'build',
    enforce: 'pre',
    buildStart() {
      for (const name of readdirSync(METADATA_DIR)) {
        if (!name.endsWith('.json')) continue
        this.emitFile({
          type: 'chunk',
          id: join(METADATA_DIR, name),
          fileName: `chunks/${name.slice(0, -'.json'.length)}-${METADATA_HASH}.js`,
          preserveSignature: 'strict',
        })
      }
    },
    // Loaded by widget.js, never by a page: not entries for the manifest nor for the licence
    // banner (widget.js carries it), as before.
    generateBundle(_options, bundle) {
      for (const file of Object.values(bundle)) {
        if (file.type === 'chunk' && file.facadeModuleId?.startsWith(`${METADATA_DIR}/`)) {
          file.isEntry = false
          file.isDynamicEntry = true
        }
      }
    },
    transform(code, id) {
      if (id !== index) return null
      const start = code.indexOf(table)
      if (start < 0)
        this.error(`${index} has no "${table.trim()}" table: rerun scripts/metadata.mjs`)
      const load = `\nexport const loadMetadata = (code: string): Promise<{ default: CountriesMetadata }> =>\n  import(/* @vite-ignore */ \`./chunks/\${code}-${METADATA_HASH}.js\`)\n`
      return { code: code.slice(0, start) + load, map: null }
    },
  }
}
