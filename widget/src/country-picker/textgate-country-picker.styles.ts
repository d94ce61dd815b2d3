import { css } from 'lit'
import { controlStyles } from '../controls.styles'

export const pickerStyles = [
  controlStyles,
  css`
    :host {
      display: block;
      flex: none;
    }
    .picker {
      position: relative;
    }
    [part~='country-button'] {
      display: inline-flex;
      align-items: center;
      gap: 0.35rem;
      white-space: nowrap;
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
    /* On phones: a full-screen modal sheet, the list filling the height above the keyboard. */
    .panel.sheet {
      position: fixed;
      inset: 0;
      width: 100%;
      max-width: none;
      height: 100%;
      max-height: none;
      margin: 0;
      border: 0;
      border-radius: 0;
      padding: var(--_spacing);
      color: inherit;
    }
    .panel.sheet[open] {
      display: flex;
      flex-direction: column;
    }
    .sheet::backdrop {
      background: rgb(0 0 0 / 0.4);
    }
    .sheet [part~='country-list'] {
      flex: 1;
      max-height: none;
    }
    .sheet [part~='country-search'] {
      flex: none;
    }
    .close {
      align-self: end;
      border: 1px solid var(--_border);
      background: transparent;
      color: inherit;
    }
    .last-preferred {
      border-block-end: 1px solid var(--_border);
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
    /* Focus stays in the search field: the outline shows which option the arrows are on (the
       highlight alone is 1.2:1 against the list), in forced colours too. */
    [part~='country-option'][aria-selected='true'] {
      background: var(--_highlight);
      outline: 2px solid var(--_primary, currentColor);
      outline-offset: -2px;
    }
    [part~='country-option'].current .name {
      font-weight: 600;
    }
  `,
]
