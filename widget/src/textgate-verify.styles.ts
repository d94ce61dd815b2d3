import { css } from 'lit'

export const styles = css`
  :host {
    --textgate-color-primary: #2f5bea;
    --textgate-color-primary-text: #ffffff;
    --textgate-color-text: #1b1f29;
    --textgate-color-muted: #5b6272;
    --textgate-color-background: #ffffff;
    --textgate-color-border: #c9ceda;
    --textgate-color-error: #c0262d;
    --textgate-color-success: #16794c;
    --textgate-radius: 8px;
    --textgate-spacing: 0.75rem;
    --textgate-font-family: inherit;
    --textgate-font-size: 1rem;

    display: block;
    color: var(--textgate-color-text);
    font-family: var(--textgate-font-family);
    font-size: var(--textgate-font-size);
  }
  :host([hidden]) {
    display: none;
  }
  * {
    box-sizing: border-box;
  }
  [part~='base'] {
    display: grid;
    gap: var(--textgate-spacing);
  }
  label {
    display: block;
    font-weight: 600;
    margin-block-end: calc(var(--textgate-spacing) / 3);
  }
  .row {
    display: flex;
    gap: calc(var(--textgate-spacing) / 2);
  }
  select,
  input[type='tel'],
  input[inputmode='numeric'] {
    font: inherit;
    color: inherit;
    background: var(--textgate-color-background);
    border: 1px solid var(--textgate-color-border);
    border-radius: var(--textgate-radius);
    padding: calc(var(--textgate-spacing) * 0.66) var(--textgate-spacing);
    min-height: 2.75rem;
  }
  select {
    max-width: 9rem;
  }
  input[type='tel'],
  input[inputmode='numeric'] {
    flex: 1;
    min-width: 0;
    width: 100%;
  }
  input[inputmode='numeric'] {
    letter-spacing: 0.3em;
    font-variant-numeric: tabular-nums;
  }
  select:focus-visible,
  input:focus-visible,
  button:focus-visible {
    outline: 2px solid var(--textgate-color-primary);
    outline-offset: 2px;
  }
  [aria-invalid='true'] {
    border-color: var(--textgate-color-error);
  }
  [part~='consent'] {
    display: flex;
    gap: 0.5rem;
    align-items: flex-start;
    font-weight: 400;
    color: var(--textgate-color-muted);
  }
  [part~='consent-checkbox'] {
    margin-block-start: 0.2rem;
    inline-size: 1.1rem;
    block-size: 1.1rem;
    accent-color: var(--textgate-color-primary);
  }
  button {
    font: inherit;
    border-radius: var(--textgate-radius);
    min-height: 2.75rem;
    padding: 0 calc(var(--textgate-spacing) * 1.5);
    cursor: pointer;
  }
  [part~='submit-button'] {
    border: 0;
    background: var(--textgate-color-primary);
    color: var(--textgate-color-primary-text);
    font-weight: 600;
  }
  [part~='submit-button']:disabled {
    opacity: 0.6;
    cursor: progress;
  }
  [part~='resend-button'],
  [part~='change-button'] {
    border: 1px solid var(--textgate-color-border);
    background: transparent;
    color: var(--textgate-color-text);
  }
  [part~='resend-button']:disabled {
    cursor: default;
    color: var(--textgate-color-muted);
  }
  [part~='error'] {
    color: var(--textgate-color-error);
    margin: 0;
    min-height: 1.25em;
  }
  [part~='error']:empty {
    min-height: 0;
  }
  [part~='status'],
  .hint {
    color: var(--textgate-color-muted);
    margin: 0;
  }
  [part~='done'] {
    color: var(--textgate-color-success);
    font-weight: 600;
    margin: 0;
  }
  .actions {
    display: flex;
    flex-wrap: wrap;
    gap: calc(var(--textgate-spacing) / 2);
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
