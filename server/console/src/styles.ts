import { css } from 'lit'

/** Colours, type and the few layout rules every console view shares (light and dark). */
export const base = css`
  :host {
    --bg: #ffffff;
    --surface: #f4f5f7;
    --text: #1b1f24;
    --muted: #4a5361;
    --border: #c4cad3;
    --accent: #1f5bd1;
    --accent-text: #ffffff;
    --danger: #b3261e;
    --ok: #1c6b3a;
    --focus: #1f5bd1;
    --bar: #3a6fd8;
    --bar-2: #2f8f5b;
    color: var(--text);
    font: 15px/1.5 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
  }
  @media (prefers-color-scheme: dark) {
    :host {
      --bg: #14171c;
      --surface: #1e232b;
      --text: #e8ebf0;
      --muted: #aab3c0;
      --border: #4a5361;
      --accent: #8fb3ff;
      --accent-text: #0b1020;
      --danger: #ff9b93;
      --ok: #7fd6a0;
      --focus: #8fb3ff;
      --bar: #8fb3ff;
      --bar-2: #7fd6a0;
    }
  }
  * { box-sizing: border-box; }
  h1 { font-size: 1.5rem; margin: 0 0 1rem; }
  h2 { font-size: 1.15rem; margin: 1.5rem 0 0.5rem; }
  h3 { font-size: 1rem; margin: 1rem 0 0.5rem; }
  p { margin: 0.25rem 0 0.75rem; }
  a { color: var(--accent); }
  .muted { color: var(--muted); }
  .error { color: var(--danger); }
  [aria-invalid='true'] { border-color: var(--danger); }
  .field-error { margin: 0.15rem 0 0.5rem; }
  .ok { color: var(--ok); }
  button, .button {
    font: inherit;
    padding: 0.45rem 0.9rem;
    border-radius: 6px;
    border: 1px solid var(--accent);
    background: var(--accent);
    color: var(--accent-text);
    cursor: pointer;
    text-decoration: none;
    display: inline-block;
  }
  button.secondary, .button.secondary {
    background: transparent;
    color: var(--accent);
  }
  button.danger { background: transparent; color: var(--danger); border-color: var(--danger); }
  button:disabled { opacity: 0.6; cursor: default; }
  input, select, textarea {
    font: inherit;
    color: var(--text);
    background: var(--bg);
    border: 1px solid var(--muted);
    border-radius: 6px;
    padding: 0.4rem 0.55rem;
    max-width: 100%;
  }
  textarea { width: 100%; min-height: 6rem; font-family: ui-monospace, monospace; }
  :focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
  label { display: block; font-weight: 600; margin: 0.6rem 0 0.2rem; }
  .field { margin-bottom: 0.75rem; }
  .row { display: flex; flex-wrap: wrap; gap: 0.75rem; align-items: end; }
  .row > * { min-width: 0; }
  .grow { flex: 1 1 16rem; }
  .grow input { width: 100%; }
  .timeline li { margin: 0.3rem 0; }
  pre { white-space: pre-wrap; overflow-wrap: anywhere; }
  .card {
    background: var(--surface);
    border: 1px solid var(--border);
    border-radius: 8px;
    padding: 1rem;
    margin-bottom: 1rem;
    min-width: 0;
  }
  /* Positioned, so that visually hidden text inside cannot stick out of the scrolled box. */
  .scroll { overflow-x: auto; position: relative; }
  .grid { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fit, minmax(min(16rem, 100%), 1fr)); }
  .grid > * { min-width: 0; }
  .figures { display: grid; gap: 0.75rem; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); margin: 0; }
  .figures div { background: var(--bg); border: 1px solid var(--border); border-radius: 6px; padding: 0.6rem; }
  .figures dt { color: var(--muted); font-size: 0.85rem; }
  .figures dd { margin: 0; font-size: 1.35rem; font-weight: 700; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 0.4rem 0.5rem; border-bottom: 1px solid var(--border); vertical-align: top; }
  th { font-weight: 600; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.9em; word-break: break-all; }
  .visually-hidden {
    position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px;
    overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0;
  }
  [role='status'] { min-height: 1.5em; }
`
