import { css } from 'lit'

// Every colour is a private `--_x` resolved from the public `--textgate-x` (set on the element or
// any ancestor) with a light or dark default. Dark follows prefers-color-scheme unless the
// `theme` attribute says `light` or `dark`.
export const styles = css`
  :host {
    --_primary: var(--textgate-color-primary, #2f5bea);
    --_primary-text: var(--textgate-color-primary-text, #ffffff);
    --_text: var(--textgate-color-text, #1b1f29);
    --_muted: var(--textgate-color-muted, #545b6a);
    --_background: var(--textgate-color-background, #ffffff);
    --_border: var(--textgate-color-border, #8a91a1);
    --_highlight: var(--textgate-color-highlight, #e3e9fd);
    --_error: var(--textgate-color-error, #b3202a);
    --_success: var(--textgate-color-success, #13693f);
    --_radius: var(--textgate-radius, 8px);
    --_spacing: var(--textgate-spacing, 0.75rem);

    display: block;
    color: var(--_text);
    font-family: var(--textgate-font-family, inherit);
    font-size: var(--textgate-font-size, 1rem);
    color-scheme: light;
  }
  @media (prefers-color-scheme: dark) {
    :host(:not([theme])),
    :host([theme='']) {
      --_primary: var(--textgate-color-primary, #8aa4ff);
      --_primary-text: var(--textgate-color-primary-text, #0d1430);
      --_text: var(--textgate-color-text, #e8eaf0);
      --_muted: var(--textgate-color-muted, #aab0bf);
      --_background: var(--textgate-color-background, #1b1f29);
      --_border: var(--textgate-color-border, #6b7283);
      --_highlight: var(--textgate-color-highlight, #2c3760);
      --_error: var(--textgate-color-error, #ff8a8f);
      --_success: var(--textgate-color-success, #6fd6a0);
      color-scheme: dark;
    }
  }
  :host([theme='dark']) {
    --_primary: var(--textgate-color-primary, #8aa4ff);
    --_primary-text: var(--textgate-color-primary-text, #0d1430);
    --_text: var(--textgate-color-text, #e8eaf0);
    --_muted: var(--textgate-color-muted, #aab0bf);
    --_background: var(--textgate-color-background, #1b1f29);
    --_border: var(--textgate-color-border, #6b7283);
    --_highlight: var(--textgate-color-highlight, #2c3760);
    --_error: var(--textgate-color-error, #ff8a8f);
    --_success: var(--textgate-color-success, #6fd6a0);
    color-scheme: dark;
  }
  :host([hidden]) {
    display: none;
  }
  * {
    box-sizing: border-box;
  }
  [part~='base'] {
    display: grid;
    gap: var(--_spacing);
  }
  .step {
    display: grid;
    gap: var(--_spacing);
  }
  label {
    display: block;
    font-weight: 600;
    margin-block-end: calc(var(--_spacing) / 3);
  }
  .row {
    display: flex;
    gap: calc(var(--_spacing) / 2);
  }
  input[type='tel'],
  input[type='text'],
  [part~='country-button'] {
    font: inherit;
    color: inherit;
    background: var(--_background);
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    padding: calc(var(--_spacing) * 0.66) var(--_spacing);
    min-height: 2.75rem;
  }
  input[type='tel'],
  input[type='text'] {
    flex: 1;
    min-width: 0;
    width: 100%;
  }
  [part~='code-input'] {
    letter-spacing: 0.3em;
    font-variant-numeric: tabular-nums;
  }
  input:focus-visible,
  button:focus-visible,
  [part~='done']:focus-visible {
    outline: 2px solid var(--_primary);
    outline-offset: 2px;
  }
  [aria-invalid='true'] {
    border-color: var(--_error);
  }
  .picker {
    position: relative;
    flex: none;
  }
  [part~='country-button'] {
    display: inline-flex;
    align-items: center;
    gap: 0.35rem;
    white-space: nowrap;
  }
  .flag {
    font-size: 1.2em;
    line-height: 1;
  }
  .flag.iso {
    font-size: 0.75em;
    font-weight: 700;
    letter-spacing: 0.05em;
    padding: 0.15em 0.3em;
    border: 1px solid currentColor;
    border-radius: 3px;
    min-width: 2.2em;
    text-align: center;
  }
  .panel {
    position: absolute;
    z-index: 10;
    inset-block-start: calc(100% + 4px);
    inset-inline-start: 0;
    width: min(20rem, 90vw);
    display: grid;
    gap: 0.25rem;
    padding: 0.4rem;
    background: var(--_background);
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    box-shadow: 0 8px 24px rgb(0 0 0 / 0.18);
  }
  .panel[popover] {
    position: fixed;
    inset: auto;
    margin: 0;
    color: inherit;
  }
  [part~='country-list'] {
    list-style: none;
    margin: 0;
    padding: 0;
    max-height: 16rem;
    overflow-y: auto;
  }
  [part~='country-option'] {
    display: flex;
    align-items: center;
    gap: 0.5rem;
    padding: 0.4rem 0.5rem;
    border-radius: calc(var(--_radius) / 2);
    cursor: pointer;
  }
  [part~='country-option'] .name {
    flex: 1;
  }
  [part~='country-option'] .dial {
    color: var(--_muted);
  }
  [part~='country-option'][aria-selected='true'] {
    background: var(--_highlight);
  }
  [part~='country-option'].current .name {
    font-weight: 600;
  }
  [part~='consent'],
  [part~='marketing'] {
    display: flex;
    gap: 0.5rem;
    align-items: flex-start;
    font-weight: 400;
    color: var(--_muted);
  }
  [part~='consent-checkbox'],
  [part~='marketing-checkbox'] {
    margin-block-start: 0.2rem;
    inline-size: 1.1rem;
    block-size: 1.1rem;
    accent-color: var(--_primary);
  }
  button {
    font: inherit;
    border-radius: var(--_radius);
    min-height: 2.75rem;
    padding: 0 calc(var(--_spacing) * 1.5);
    cursor: pointer;
  }
  [part~='submit-button'] {
    border: 0;
    background: var(--_primary);
    color: var(--_primary-text);
    font-weight: 600;
  }
  [part~='submit-button']:disabled {
    opacity: 0.6;
    cursor: progress;
  }
  [part~='resend-button'],
  [part~='change-button'],
  [part~='retry-button'] {
    border: 1px solid var(--_border);
    background: transparent;
    color: var(--_text);
  }
  [part~='resend-button']:disabled {
    cursor: default;
    color: var(--_muted);
  }
  .error-row {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: calc(var(--_spacing) / 2);
  }
  [part~='error'] {
    color: var(--_error);
    margin: 0;
  }
  [part~='status'],
  .hint {
    color: var(--_muted);
    margin: 0;
  }
  [part~='done'] {
    color: var(--_success);
    font-weight: 600;
    margin: 0;
  }
  .actions {
    display: flex;
    flex-wrap: wrap;
    gap: calc(var(--_spacing) / 2);
  }
  .visually-hidden {
    position: absolute;
    inline-size: 1px;
    block-size: 1px;
    overflow: hidden;
    clip-path: inset(50%);
    white-space: nowrap;
  }
`
