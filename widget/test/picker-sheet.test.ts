/// <reference types="mocha" />
// Round 2 defects 8 and 12: country search by aliases, alpha-3 codes and English names in every
// language; on phones a full-screen sheet with the preferred countries on top.
import { expect, waitUntil } from '@open-wc/testing'
import { sendKeys, setViewport } from '@web/test-runner-commands'
import { mount, part, pickerRoot } from './helpers'

async function search(el: HTMLElement, query: string): Promise<string[]> {
  const button = part<HTMLButtonElement>(el, 'country-button')
  if (!part(el, 'country-search')) button.click()
  await waitUntil(() => part(el, 'country-search'), 'the list did not open')
  const input = part<HTMLInputElement>(el, 'country-search')
  input.value = query
  input.dispatchEvent(new Event('input'))
  await (el as HTMLElement & { updateComplete: Promise<unknown> }).updateComplete
  return [...pickerRoot(el).querySelectorAll('[part~="country-option"]')].map((o) =>
    o.id.replace('country-', ''),
  )
}

describe('country search and the phone sheet (round 2)', () => {
  afterEach(async () => {
    document.documentElement.lang = ''
    await setViewport({ width: 800, height: 600 })
  })

  for (const [query, code] of [
    ['uk', 'GB'],
    ['usa', 'US'],
    ['deu', 'DE'],
    ['uae', 'AE'],
    ['holland', 'NL'],
    ['GBR', 'GB'],
  ] as const) {
    it(`defect 8: "${query}" finds ${code} first`, async () => {
      const { el } = await mount()
      // The alias chunk loads when the list first opens.
      await waitUntil(async () => (await search(el, query))[0] === code, `${query} → not ${code}`)
    })
  }

  for (const lang of ['ar', 'zh-CN', 'ja', 'ru']) {
    it(`defect 8: English names find countries in a ${lang} UI`, async () => {
      document.documentElement.lang = lang
      const { el } = await mount()
      await waitUntil(() => part(el, 'base').getAttribute('lang') === lang)
      expect((await search(el, 'Germany'))[0]).to.equal('DE')
      expect((await search(el, 'united king'))[0]).to.equal('GB')
    })
  }

  it('defect 12: on a phone the list is a full-screen modal sheet; Escape closes it', async () => {
    await setViewport({ width: 390, height: 760 })
    const { el, form } = await mount()
    const button = part<HTMLButtonElement>(el, 'country-button')
    button.click()
    await waitUntil(() => part(el, 'country-search'))
    const panel = part(el, 'country-panel')
    expect(panel.localName).to.equal('dialog')
    expect(panel.matches(':modal')).to.equal(true)
    const box = panel.getBoundingClientRect()
    expect(box.width).to.equal(390)
    expect(box.height).to.be.at.least(700)
    // Focus is trapped: the page behind is inert.
    const before = form.querySelector<HTMLInputElement>('#before')!
    before.focus()
    expect(document.activeElement).to.not.equal(before)
    // More than a handful of rows show, and the search hint is not cut off.
    const list = part(el, 'country-list')
    const row = pickerRoot(el).querySelector('[part~="country-option"]')!.getBoundingClientRect()
    expect(list.clientHeight / row.height).to.be.at.least(12)
    const search = part<HTMLInputElement>(el, 'country-search')
    const style = getComputedStyle(search)
    const context = document.createElement('canvas').getContext('2d')!
    context.font = `${style.fontSize} ${style.fontFamily}`
    const room = search.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight)
    expect(context.measureText(search.placeholder).width).to.be.at.most(room)
    search.focus()
    await sendKeys({ press: 'Escape' })
    await waitUntil(() => !part(el, 'country-panel'), 'Escape did not close the sheet')
    await waitUntil(() => pickerRoot(el).activeElement === button, 'focus not back on the button')
  })

  for (const width of [390, 1280]) {
    it(`at ${width} px, a country chosen with the keyboard leaves focus on the phone field`, async () => {
      // Found in a keyboard pass: on a phone, Enter on a country moved focus to the phone field
      // while the modal sheet, which makes everything else inert, was still open, so focus fell
      // to the page's body when the sheet went.
      await setViewport({ width, height: 760 })
      const { el } = await mount()
      part<HTMLButtonElement>(el, 'country-button').focus()
      await sendKeys({ press: 'ArrowDown' })
      await waitUntil(() => pickerRoot(el).activeElement === part(el, 'country-search'))
      await sendKeys({ type: 'germany' })
      await sendKeys({ press: 'Enter' })
      await waitUntil(() => !part(el, 'country-panel'), 'the list did not close')
      await waitUntil(
        () => el.shadowRoot!.activeElement === part(el, 'phone-input'),
        `focus on ${document.activeElement?.localName}, not the phone field`,
      )
      expect(part(el, 'country-button').textContent).to.contain('+49')
    })
  }

  it('defect 12: the sheet has a close button; on a desktop the list stays a popup', async () => {
    await setViewport({ width: 390, height: 760 })
    const { el } = await mount()
    part<HTMLButtonElement>(el, 'country-button').click()
    await waitUntil(() => part(el, 'country-search'))
    pickerRoot(el).querySelector<HTMLButtonElement>('.close')!.click()
    await waitUntil(() => !part(el, 'country-panel'))
    await setViewport({ width: 1280, height: 800 })
    part<HTMLButtonElement>(el, 'country-button').click()
    await waitUntil(() => part(el, 'country-search'))
    expect(part(el, 'country-panel').localName).to.equal('div')
  })

  it('defect 12: preferred countries lead the list — the store’s, then the detected one', async () => {
    const { el } = await mount('default-country="GB" preferred-countries="IE, FR"')
    const options = await search(el, '')
    expect(options.slice(0, 3)).to.deep.equal(['IE', 'FR', 'GB'])
    expect(options.filter((code) => code === 'GB')).to.have.length(1)
    // A search ranks as usual.
    expect((await search(el, 'fra'))[0]).to.equal('FR')
  })
})
