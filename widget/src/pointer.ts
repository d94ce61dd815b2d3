/**
 * Whether a press (mouse button, finger or pen) is in progress anywhere on the page, so that a
 * message which moves what is below it can wait until that press has landed.
 * @module
 */

let pressed = false
if (typeof addEventListener === 'function') {
  addEventListener('pointerdown', () => (pressed = true), true)
  addEventListener('pointerup', () => (pressed = false), true)
}

/** Resolves once the press in progress is over and its click delivered; at once if none is. */
export function afterPress(): Promise<void> {
  if (!pressed) return Promise.resolve()
  return new Promise((resolve) => {
    addEventListener('click', () => setTimeout(resolve), { once: true, capture: true })
    setTimeout(resolve, 1000) // Pressed and dragged away: no click comes.
  })
}
