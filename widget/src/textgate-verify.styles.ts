import { css } from 'lit'
import { controlStyles } from './controls.styles'

// Every colour is a private `--_x` resolved from the public `--textgate-x` (set on the element or
// any ancestor) with a light or dark default. Dark follows prefers-color-scheme unless the
// `theme` attribute says `light` or `dark`.
export const styles = [
  controlStyles,
  css`
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
  [part~='code-input'] {
    letter-spacing: 0.3em;
    font-variant-numeric: tabular-nums;
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
  [part~='status'] {
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
`,
]
