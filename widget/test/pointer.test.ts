/// <reference types="mocha" />
// src/pointer.ts: a message shown on blur waits for the press that caused the blur to land.
import { expect } from '@open-wc/testing'
import { afterPress } from '../src/pointer'

const later = () => new Promise((resolve) => setTimeout(() => resolve('later'), 50))

describe('afterPress', () => {
  it('resolves at once when nothing is pressed', async () => {
    expect(await Promise.race([afterPress().then(() => 'now'), later()])).to.equal('now')
  })

  it('waits for the press in progress until its click is delivered', async () => {
    dispatchEvent(new PointerEvent('pointerdown'))
    let landed = false
    const waiting = afterPress().then(() => {
      landed = true
    })
    await later()
    expect(landed).to.equal(false)
    dispatchEvent(new PointerEvent('pointerup'))
    dispatchEvent(new MouseEvent('click'))
    await waiting
    expect(landed).to.equal(true)
    expect(await Promise.race([afterPress().then(() => 'now'), later()])).to.equal('now')
  })
})
