/// <reference types="mocha" />
// Round 2 defect 1: the default fits the page (light unless the page or the store opts into dark
// or auto), and text keeps AA contrast against the store's own --textgate-color-primary.
import { expect, waitUntil } from '@open-wc/testing'
import { emulateMedia, sendKeys } from '@web/test-runner-commands'
import { axeViolations, fillPhone, mount, part } from './helpers'

/** Any CSS colour as sRGB 0–255, through a canvas (computed values may be oklch() or lch()). */
function rgb(color: string): [number, number, number] {
  const canvas = document.createElement('canvas')
  canvas.width = canvas.height = 1
  const context = canvas.getContext('2d', { willReadFrequently: true })!
  context.fillStyle = color
  context.fillRect(0, 0, 1, 1)
  const [r, g, b] = context.getImageData(0, 0, 1, 1).data
  return [r!, g!, b!]
}
const luminance = (color: string) => {
  const [r, g, b] = rgb(color).map((v) => {
    const c = v / 255
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4
  })
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!
}
const contrast = (a: string, b: string) => {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p)
  return (x! + 0.05) / (y! + 0.05)
}

const STORE_COLOURS = [
  '#2da44e', // green
  '#1a7f37',
  '#ffd33d', // yellow
  '#f97316', // orange
  '#e11d48', // red
  '#0ea5e9', // sky
  '#7c3aed', // violet
  '#111827', // near black
  '#f5f5f5', // near white
  '#777777', // mid grey, at the edge
  'oklch(0.62 0.19 150)',
]

describe('theme and contrast (round 2, defect 1)', () => {
  afterEach(async () => {
    await emulateMedia({ colorScheme: 'light' })
    document.documentElement.style.removeProperty('color-scheme')
  })

  it('stays light on a white store page when the system is dark', async () => {
    await emulateMedia({ colorScheme: 'dark' })
    const { el, form } = await mount()
    form.style.background = '#ffffff'
    const label = el.shadowRoot!.querySelector('label')!
    expect(contrast(getComputedStyle(label).color, '#ffffff')).to.be.at.least(4.5)
    const consent = part(el, 'consent')
    expect(contrast(getComputedStyle(consent).color, '#ffffff')).to.be.at.least(4.5)
    await fillPhone(el, '07400 12', false)
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => part(el, 'error').textContent?.trim())
    expect(contrast(getComputedStyle(part(el, 'error')).color, '#ffffff')).to.be.at.least(4.5)
    expect(await axeViolations(form)).to.deep.equal([])
  })

  it('turns dark when the page says color-scheme: dark, or with theme="auto" on a dark system', async () => {
    const { el } = await mount()
    const background = () => getComputedStyle(part(el, 'phone-input')).backgroundColor
    expect(background()).to.equal('rgb(255, 255, 255)')
    document.documentElement.style.setProperty('color-scheme', 'dark')
    expect(background()).to.equal('rgb(27, 31, 41)')
    document.documentElement.style.removeProperty('color-scheme')
    el.setAttribute('theme', 'auto')
    expect(background()).to.equal('rgb(255, 255, 255)')
    await emulateMedia({ colorScheme: 'dark' })
    expect(background()).to.equal('rgb(27, 31, 41)')
    el.setAttribute('theme', 'light')
    expect(background()).to.equal('rgb(255, 255, 255)')
  })

  for (const theme of ['light', 'dark', 'auto', '']) {
    it(`theme="${theme}": Send's text keeps AA contrast on every store colour`, async () => {
      await emulateMedia({ colorScheme: 'dark' })
      const { el } = await mount(theme ? `default-country="GB" theme="${theme}"` : undefined)
      const button = part(el, 'submit-button')
      for (const colour of STORE_COLOURS) {
        el.style.setProperty('--textgate-color-primary', colour)
        const style = getComputedStyle(button)
        const ratio = contrast(style.color, style.backgroundColor)
        expect(ratio, `${colour}: ${style.color} on ${style.backgroundColor}`).to.be.at.least(4.5)
      }
      // The store's own text colour still wins.
      el.style.setProperty('--textgate-color-primary-text', 'rgb(1, 2, 3)')
      expect(getComputedStyle(button).color).to.equal('rgb(1, 2, 3)')
    })
  }

  for (const [name, setUp] of [
    [
      'theme="dark" on a dark page',
      (el: HTMLElement, form: HTMLElement) => {
        el.setAttribute('theme', 'dark')
        form.style.background = '#111318'
      },
    ],
    [
      'theme="auto" on a dark system and page',
      (el: HTMLElement, form: HTMLElement) => {
        el.setAttribute('theme', 'auto')
        form.style.background = '#111318'
      },
    ],
    [
      'a page with color-scheme: dark',
      (_el: HTMLElement, form: HTMLElement) => {
        document.documentElement.style.setProperty('color-scheme', 'dark')
        form.style.background = '#111318'
      },
    ],
  ] as const) {
    it(`axe in the dark scheme: ${name}, phone and error states`, async () => {
      await emulateMedia({ colorScheme: 'dark' })
      const { el, form } = await mount('default-country="GB" marketing-text="Send me offers"')
      setUp(el, form)
      await el.updateComplete
      expect(await axeViolations(form)).to.deep.equal([])
      await fillPhone(el, '07400 12', false)
      part<HTMLButtonElement>(el, 'submit-button').click()
      await waitUntil(() => part(el, 'error').textContent?.trim())
      expect(await axeViolations(form)).to.deep.equal([])
    })
  }
})

describe('the active country, moved to with the arrow keys', () => {
  for (const theme of ['light', 'dark']) {
    it(`is marked at 3:1 against the list and its own background (${theme})`, async () => {
      // Found in a keyboard pass: focus stays in the search field, and the option the arrows
      // move to was marked only by --_highlight, 1.2:1 against the list in light (1.5:1 in
      // dark): a keyboard user could hardly see which country Enter would take.
      const { el } = await mount(`default-country="GB" theme="${theme}"`)
      part<HTMLButtonElement>(el, 'country-button').click()
      await waitUntil(() => part(el, 'country-search'))
      await sendKeys({ press: 'ArrowDown' })
      await el.updateComplete
      const option = part(el, 'country-list').querySelector<HTMLElement>('[aria-selected="true"]')!
      const style = getComputedStyle(option)
      const list = getComputedStyle(part(el, 'country-panel')).backgroundColor
      expect(style.outlineStyle).to.equal('solid')
      // (The canvas reads a transparent colour as black.)
      expect(style.outlineColor).to.not.match(/^transparent$|^rgba\(.*,\s*0\)$/)
      expect(parseFloat(style.outlineWidth)).to.be.at.least(2)
      expect(contrast(style.outlineColor, list), 'against the list').to.be.at.least(3)
      expect(contrast(style.outlineColor, style.backgroundColor), 'against itself').to.be.at.least(
        3,
      )
    })
  }
})

describe('forced colours (Windows high contrast)', () => {
  it('Send keeps a visible edge: its border is transparent, not absent', async () => {
    // Forced colours drop backgrounds and paint every border in the system's button text colour:
    // a border-less primary button was left as bare text (seen in Chromium with forced-colors
    // emulated). A transparent border costs nothing in normal colours and draws its edge there.
    const { el } = await mount()
    const style = getComputedStyle(part(el, 'submit-button'))
    expect([style.borderTopStyle, style.borderTopWidth]).to.deep.equal(['solid', '1px'])
  })
})
