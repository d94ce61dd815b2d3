// `cem analyze` settings: the element's JSDoc (@attr, @prop, @fires, @csspart, @cssprop, @slot)
// becomes custom-elements.json, which editors and docs tools read (package.json "customElements").
// Regenerate with `node scripts/manifest.mjs --write`; the test run checks it is current.

/** Keeps the public API only: no private fields, no internal state, no helper declarations. */
function publicApiOnly() {
  return {
    name: 'textgate-public-api-only',
    packageLinkPhase({ customElementsManifest }) {
      for (const module of customElementsManifest.modules) {
        const exported = new Set((module.exports ?? []).map((e) => e.declaration?.name))
        module.declarations = (module.declarations ?? []).filter((d) => exported.has(d.name))
        for (const declaration of module.declarations) {
          const hidden = new Set(
            (declaration.members ?? [])
              .filter((m) => m.privacy === 'private' || m.privacy === 'protected')
              .map((m) => m.name),
          )
          if (declaration.members) {
            declaration.members = declaration.members.filter((m) => !hidden.has(m.name))
          }
          if (declaration.attributes) {
            declaration.attributes = declaration.attributes.filter(
              (a) => !a.fieldName || !hidden.has(a.fieldName),
            )
          }
          // Events the analyzer infers from `dispatch(type, …)` calls carry no name of their own.
          if (declaration.events) {
            declaration.events = declaration.events.filter((e) => e.description)
          }
        }
      }
    },
  }
}

export default {
  globs: ['src/textgate-verify.ts'],
  outdir: '.',
  litelement: true,
  // package.json names the committed file itself ("customElements").
  packagejson: false,
  plugins: [publicApiOnly()],
}
