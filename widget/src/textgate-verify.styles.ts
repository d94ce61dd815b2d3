import { css } from 'lit'
import { controlStyles } from './controls.styles'

// Every colour is a private `--_x` resolved from the public `--textgate-x` (set on the element or
// any ancestor) with a light and a dark default, chosen by light-dark() from the color-scheme the
// widget inherits: a page that declares none gets the light look, whatever the system's mode. The
// `theme` attribute decides instead: `light`, `dark`, or `auto` (follow the system). Text on the
// primary colour is black or white, whichever contrasts more with it: white below the WCAG
// relative luminance 0.1791 (from its linear sRGB channels), where both contrasts are equal, so it
// gets at least 4.58:1; unless the store sets --textgate-color-primary-text.
export const styles = [
  controlStyles,
  css`
  :host {
    --_primary: var(--textgate-color-primary, light-dark(#2f5bea, #8aa4ff));
    --_y: clamp(0, (0.1791 - 0.2126 * r - 0.7152 * g - 0.0722 * b) * infinity, 1);
    --_primary-text: var(
      --textgate-color-primary-text,
      color(from var(--_primary) srgb-linear var(--_y) var(--_y) var(--_y))
    );
    --_text: var(--textgate-color-text, light-dark(#1b1f29, #e8eaf0));
    --_muted: var(--textgate-color-muted, light-dark(#545b6a, #aab0bf));
    --_background: var(--textgate-color-background, light-dark(#ffffff, #1b1f29));
    --_border: var(--textgate-color-border, light-dark(#8a91a1, #6b7283));
    --_highlight: var(--textgate-color-highlight, light-dark(#e3e9fd, #2c3760));
    --_error: var(--textgate-color-error, light-dark(#b3202a, #ff8a8f));
    --_success: var(--textgate-color-success, light-dark(#13693f, #6fd6a0));
    --_radius: var(--textgate-radius, 8px);
    --_spacing: var(--textgate-spacing, 0.75rem);

    display: block;
    color: var(--_text);
    font-family: var(--textgate-font-family, inherit);
    font-size: var(--textgate-font-size, 1rem);
  }
  :host([theme='light']) {
    color-scheme: light;
  }
  :host([theme='dark']) {
    color-scheme: dark;
  }
  :host([theme='auto']) {
    color-scheme: light dark;
  }
  /* Browsers before light-dark() (2024) get the light look. */
  @supports not (color: light-dark(#000, #fff)) {
    :host {
      --_primary: var(--textgate-color-primary, #2f5bea);
      --_text: var(--textgate-color-text, #1b1f29);
      --_muted: var(--textgate-color-muted, #545b6a);
      --_background: var(--textgate-color-background, #ffffff);
      --_border: var(--textgate-color-border, #8a91a1);
      --_highlight: var(--textgate-color-highlight, #e3e9fd);
      --_error: var(--textgate-color-error, #b3202a);
      --_success: var(--textgate-color-success, #13693f);
    }
  }
  @supports not (color: color(from red srgb-linear r g b)) {
    :host {
      --_primary-text: var(--textgate-color-primary-text, #ffffff);
    }
    :host([theme='dark']) {
      --_primary-text: var(--textgate-color-primary-text, #0d1430);
    }
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
  label,
  .label {
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
    flex: none;
    margin-block-start: 0.2rem;
    inline-size: 1.1rem;
    block-size: 1.1rem;
    accent-color: var(--_primary);
  }
  /* Transparent, not none: forced colours paint it, so Send keeps its edge in high contrast. */
  [part~='submit-button'] {
    border: 1px solid transparent;
    background: var(--_primary);
    color: var(--_primary-text);
    font-weight: 600;
  }
  [part~='submit-button']:is(:disabled, [aria-disabled='true']) {
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
  /* The code step: Verify is its one button; Send a new code and Change number are text links
     on the row below, side by side when they fit, else one under the other. No label breaks
     inside its control, in any language, and each keeps a 44 px touch target. */
  .actions.code {
    display: grid;
    justify-items: start;
    gap: calc(var(--_spacing) / 3);
  }
  .actions.code button {
    white-space: nowrap;
  }
  .links {
    display: flex;
    flex-wrap: wrap;
    column-gap: calc(var(--_spacing) * 1.5);
  }
  .links button {
    border: 0;
    background: transparent;
    color: var(--_text);
    /* Lined up with Verify's edge; at least 44 px each way, even for a two-character label. */
    padding-inline: 0;
    min-inline-size: 2.75rem;
    text-align: start;
    text-decoration: underline;
    text-underline-offset: 0.2em;
  }
  .links button:disabled {
    text-decoration: none;
  }
`,
]
