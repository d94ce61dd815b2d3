import { css } from 'lit'

// What <textgate-verify> and its country picker share: fields, buttons, focus rings, flags. The
// colours are the private `--_x` variables <textgate-verify>'s :host defines; the picker, inside
// its shadow tree, inherits them.
export const controlStyles = css`
  * {
    box-sizing: border-box;
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
  input:focus-visible,
  button:focus-visible,
  [part~='done']:focus-visible {
    outline: 2px solid var(--_primary);
    outline-offset: 2px;
  }
  /* Outranks input[type='tel'] and input[type='text'] above. */
  input[type][aria-invalid='true'] {
    border-color: var(--_error);
  }
  button {
    font: inherit;
    border-radius: var(--_radius);
    min-height: 2.75rem;
    padding: 0 calc(var(--_spacing) * 1.5);
    cursor: pointer;
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
  .hint {
    color: var(--_muted);
    margin: 0;
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
