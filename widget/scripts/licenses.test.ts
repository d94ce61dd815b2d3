/**
 * The built widget carries the licences of the third-party code inside it (the plugin it shares
 * with the console, scripts/vite-licenses.ts, tested on its own there): the notices file beside
 * the entry holds each bundled package's licence texts, and the entry opens with a banner naming
 * them and that file. Both builds run as `vite build` runs them (the
 * script-tag build and scripts/pack.mjs's `--mode module`), into temporary folders: never into
 * widget/dist, which a server under test elsewhere may be serving.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { noticeSections, viteBuild } from '../../test/support/licenses'

const widget = join(import.meta.dirname, '..')
const out = mkdtempSync(join(tmpdir(), 'tg-widget-licenses-'))
afterAll(() => rmSync(out, { recursive: true, force: true }))

const build = (name: string, args: string[] = []) => viteBuild(widget, join(out, name), args)

const BSD_3 = 'Redistribution and use in source and binary forms'
const MIT = 'Permission is hereby granted, free of charge'

describe('third-party licences of the built widget', () => {
  let script = ''
  let module = ''
  beforeAll(() => {
    script = build('script')
    module = build('module', ['--mode', 'module'])
  }, 180_000)

  it('writes widget.licenses.txt beside widget.js with the licence texts of Lit and libphonenumber-js', () => {
    const notices = noticeSections(readFileSync(join(script, 'widget.licenses.txt'), 'utf8'))
    expect([...notices].map(([name, { license }]) => `${name} ${license}`)).toEqual([
      '@lit/reactive-element BSD-3-Clause',
      'libphonenumber-js MIT',
      'lit BSD-3-Clause',
      'lit-element BSD-3-Clause',
      'lit-html BSD-3-Clause',
    ])
    for (const name of ['@lit/reactive-element', 'lit', 'lit-element', 'lit-html']) {
      expect(notices.get(name)?.text).toContain(BSD_3)
      expect(notices.get(name)?.text).toContain('Google LLC')
    }
    const phone = notices.get('libphonenumber-js')?.text
    expect(phone).toContain(MIT)
    // Its metadata, in the phone metadata chunks, is Google's libphonenumber's: Apache-2.0.
    expect(phone).toContain('Apache License')
    expect(phone).toContain('Version 2.0, January 2004')
    expect(phone).toContain('split by calling code into chunks/')
  })

  it('opens widget.js with a short banner naming the packages and the notices file', () => {
    const code = readFileSync(join(script, 'widget.js'), 'utf8')
    const banner = code.slice(0, code.indexOf('\n'))
    expect(banner).toBe(
      '/*! Textgate widget. Bundles @lit/reactive-element, lit, lit-element, lit-html (BSD-3-Clause); libphonenumber-js (MIT). Licence texts: ./widget.licenses.txt */',
    )
    // Once, at the top of the entry: the chunks widget.js loads are not made larger.
    expect(code).not.toContain('Lit is in dev mode')
    for (const chunk of readdirSync(join(script, 'chunks'))) {
      expect(readFileSync(join(script, 'chunks', chunk), 'utf8'), chunk).not.toContain('/*!')
    }
  })

  it('ships notices with the npm package’s module build, which bundles libphonenumber-js but not Lit', () => {
    const notices = noticeSections(readFileSync(join(module, 'widget.licenses.txt'), 'utf8'))
    expect([...notices.keys()]).toEqual(['libphonenumber-js'])
    expect(notices.get('libphonenumber-js')?.text).toContain(MIT)
    expect(notices.get('libphonenumber-js')?.text).toContain('Apache License')
    expect(readFileSync(join(module, 'index.js'), 'utf8')).toMatch(
      /^\/\*! Textgate widget\. Bundles libphonenumber-js \(MIT\)\. Licence texts: \.\/widget\.licenses\.txt \*\/\n/,
    )
  })
})
