/**
 * The demo store's HTML. No inline scripts or styles: the pages work under a strict CSP.
 * @module
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js/max'

export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;')
}

function layout(title: string, body: string, head = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Northwind Outfitters</title>
<link rel="stylesheet" href="/store.css">
${head}
</head>
<body>
<header class="masthead"><a href="/" class="brand">Northwind Outfitters</a><span>Gear for the long way round</span></header>
<main>${body}</main>
<footer>A sample store for <a href="https://github.com/">Textgate</a>: phone verification you host yourself. · <a href="/themes">Widget themes</a></footer>
</body>
</html>`
}

export interface RegisterPageInput {
  textgateUrl: string
  publishableKey: string
  values?: { name?: string; email?: string }
  error?: string
  testNumber?: string
}

export function registerPage({
  textgateUrl,
  publishableKey,
  values = {},
  error,
  testNumber,
}: RegisterPageInput): string {
  const script = `<script type="module" src="${escapeHtml(textgateUrl)}/widget.js"></script>
<script type="module" src="/store.js"></script>`
  return layout(
    'Create your account',
    `<section class="card">
  <h1>Create your account</h1>
  <p class="lead">Members get free returns and early access to the winter collection.</p>
  ${error ? `<p class="alert" role="alert">${escapeHtml(error)}</p>` : ''}
  <form method="post" action="/register">
    <label>Full name <input name="name" autocomplete="name" required value="${escapeHtml(values.name ?? '')}"></label>
    <label>Email <input name="email" type="email" autocomplete="email" required value="${escapeHtml(values.email ?? '')}"></label>
    <textgate-verify publishable-key="${escapeHtml(publishableKey)}" name="phone_token" required consent-version="northwind-sms-2026-11" marketing-text="Also text me offers and early access to new collections (optional).">
      <span slot="consent">Text me a one-time code to confirm this number. See our <a href="/privacy">privacy notice</a>.</span>
    </textgate-verify>
    <button type="submit" class="primary">Create account</button>
  </form>
</section>
<aside class="card sandbox">
  <h2>Trying the demo?</h2>
  <p>This store uses a <strong>test key</strong>: no real text message is sent. Codes land in the sandbox inbox.</p>
  ${testNumber ? `<p>A test number you can use: <code>${escapeHtml(testNumber)}</code></p>` : ''}
  <form method="get" action="/sandbox" class="inline">
    <label>Read the inbox of <input id="inbox-to" name="to" placeholder="+447400123123" value="${escapeHtml(testNumber ?? '')}"></label>
    <button type="submit">Open inbox</button>
  </form>
</aside>`,
    script,
  )
}

export interface ThemesPageInput {
  textgateUrl: string
  publishableKey: string
}

/**
 * Three differently themed widgets: the default light look, a dark theme from `theme="dark"` and
 * custom properties, and a brand restyled with ::part(). Every rule is in /store.css.
 */
export function themesPage({ textgateUrl, publishableKey }: ThemesPageInput): string {
  const script = `<script type="module" src="${escapeHtml(textgateUrl)}/widget.js"></script>`
  const key = escapeHtml(publishableKey)
  return layout(
    'Widget themes',
    `<section class="themes-intro">
  <h1>One widget, three looks</h1>
  <p class="lead">Each widget below is the same <code>&lt;textgate-verify&gt;</code>, themed only from this store's stylesheet: <code>--textgate-*</code> custom properties and <code>::part()</code>.</p>
</section>
<section class="card theme-card" aria-labelledby="theme-light-title">
  <h2 id="theme-light-title">Default, light</h2>
  <p class="lead">No styling beyond the store's accent colour.</p>
  <textgate-verify id="theme-light" class="theme-light" theme="light" publishable-key="${key}" default-country="GB"></textgate-verify>
</section>
<section class="card theme-card theme-card-dark" aria-labelledby="theme-dark-title">
  <h2 id="theme-dark-title">Dark</h2>
  <p class="lead"><code>theme="dark"</code> and a few custom properties.</p>
  <textgate-verify id="theme-dark" class="theme-dark" theme="dark" publishable-key="${key}" default-country="GB"></textgate-verify>
</section>
<section class="card theme-card theme-card-brand" aria-labelledby="theme-brand-title">
  <h2 id="theme-brand-title">Branded</h2>
  <p class="lead">Pill-shaped fields and a loud button, restyled with <code>::part()</code>.</p>
  <textgate-verify id="theme-brand" class="theme-brand" theme="light" publishable-key="${key}" default-country="GB" marketing-text="Send me the winter catalogue by text."></textgate-verify>
</section>`,
    script,
  )
}

/** An E.164 number as people write it ("+44 7400 123456"); as it is when it does not parse. */
export function formatPhone(e164: string): string {
  return parsePhoneNumberFromString(e164)?.formatInternational() ?? e164
}

export function welcomePage(account: {
  name: string
  phone: string
  email: string
  marketing_opt_in?: number
}): string {
  return layout(
    'Welcome',
    `<section class="card">
  <h1>Welcome, ${escapeHtml(account.name)}!</h1>
  <p>Your account is ready. We verified your phone number <strong class="phone">${escapeHtml(formatPhone(account.phone))}</strong>.</p>
  <p>We will write to <strong>${escapeHtml(account.email)}</strong> about your orders.</p>
  ${account.marketing_opt_in ? '<p class="offers">You asked for offers by text: watch your phone for early access.</p>' : ''}
  <p><a href="/">Register another account</a></p>
</section>`,
  )
}

export function inboxPage(
  to: string,
  messages: { body: string; createdAt: string }[],
  error?: string,
): string {
  const items = messages
    .map(
      (m) =>
        `<li><time datetime="${escapeHtml(m.createdAt)}">${escapeHtml(new Date(m.createdAt).toLocaleTimeString('en-GB'))}</time><pre>${escapeHtml(m.body)}</pre></li>`,
    )
    .join('')
  return layout(
    'Sandbox inbox',
    `<section class="card">
  <h1>Sandbox inbox</h1>
  <p>Messages the sandbox carrier "delivered" to <code>${escapeHtml(to)}</code>, newest first.</p>
  ${error ? `<p class="alert" role="alert">${escapeHtml(error)}</p>` : ''}
  ${items ? `<ol class="inbox">${items}</ol>` : '<p>No messages yet. Reload after sending a code.</p>'}
  <p><a href="/sandbox?to=${encodeURIComponent(to)}">Reload</a> · <a href="/">Back to the store</a></p>
</section>`,
  )
}

export const STORE_CSS = `
:root { --ink: #1d2330; --muted: #5e6677; --paper: #f6f4ef; --accent: #1f6f5c; color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--paper); }
.masthead { display: flex; align-items: baseline; gap: 1rem; padding: 1rem 2rem; background: var(--ink); color: #fff; }
.masthead .brand { color: #fff; font-weight: 700; font-size: 1.25rem; text-decoration: none; letter-spacing: 0.02em; }
.masthead span { color: #c7ccd8; font-size: 0.9rem; }
main { display: flex; flex-wrap: wrap; gap: 1.5rem; justify-content: center; align-items: flex-start; padding: 2rem 1rem; }
.card { background: #fff; border-radius: 12px; padding: 1.75rem; box-shadow: 0 1px 3px rgb(0 0 0 / 0.08), 0 8px 24px rgb(0 0 0 / 0.05); width: min(100%, 30rem); }
.card h1 { margin-top: 0; font-size: 1.5rem; }
.card h2 { margin-top: 0; font-size: 1.1rem; }
.lead { color: var(--muted); }
form { display: grid; gap: 1rem; }
form.inline { gap: 0.5rem; }
label { display: grid; gap: 0.3rem; font-weight: 600; }
label input { font-weight: 400; }
input { font: inherit; padding: 0.6rem 0.75rem; border: 1px solid #c9ceda; border-radius: 8px; }
button { font: inherit; padding: 0.7rem 1rem; border-radius: 8px; border: 1px solid var(--ink); background: #fff; cursor: pointer; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; font-weight: 600; }
textgate-verify { --textgate-color-primary: var(--accent); }
.alert { background: #fdecec; color: #8f1d22; padding: 0.75rem 1rem; border-radius: 8px; }
.sandbox { background: #fffbea; width: min(100%, 22rem); }
.inbox { padding-left: 1.25rem; }
.inbox pre { white-space: pre-wrap; font: inherit; margin: 0.25rem 0 1rem; }
code { background: #eef0f4; padding: 0.1rem 0.35rem; border-radius: 4px; }
.themes-intro { width: 100%; max-width: 60rem; text-align: center; }
.themes-intro h1 { margin-bottom: 0.25rem; }
.theme-card { width: min(100%, 24rem); }
.theme-card-dark { background: #11151c; color: #e8ebf2; }
.theme-card-dark .lead { color: #a9b1c2; }
.theme-card-dark code { background: #252b38; }
textgate-verify.theme-dark {
  --textgate-color-primary: #8ab4ff;
  --textgate-color-primary-text: #0b1020;
  --textgate-color-background: #1b1f29;
  --textgate-color-border: #3a4152;
  --textgate-color-text: #e8ebf2;
  --textgate-color-muted: #a9b1c2;
}
.theme-card-brand { background: #fff8f0; border: 2px solid #b3261e; }
textgate-verify.theme-brand {
  --textgate-color-primary: #b3261e;
  --textgate-radius: 999px;
  --textgate-font-family: Georgia, "Times New Roman", serif;
}
textgate-verify.theme-brand::part(phone-input) { border: 2px solid #b3261e; background: #fffdf9; }
textgate-verify.theme-brand::part(country-button) { border: 2px solid #b3261e; }
textgate-verify.theme-brand::part(submit-button) { background: #1d2330; color: #ffd166; border: none; text-transform: uppercase; letter-spacing: 0.08em; font-weight: 700; }
textgate-verify.theme-brand::part(consent),
textgate-verify.theme-brand::part(marketing) { font-style: italic; }
footer { text-align: center; color: var(--muted); font-size: 0.85rem; padding: 2rem 1rem; }
`

/**
 * The register page's own script (same origin, so the strict CSP allows it): once the widget has
 * sent a code, the sandbox inbox box shows the number the shopper typed, not the hint; and the
 * form goes once: Create account waits while the store answers (a double click would send it
 * twice), and is back when the browser returns to the page from its history.
 */
export const STORE_JS = `const widget = document.querySelector('textgate-verify')
const inbox = document.getElementById('inbox-to')
widget?.addEventListener('textgate-step', (event) => {
  if (inbox && event.detail.phone) inbox.value = event.detail.phone
})
const register = document.querySelector('form[action="/register"]')
const create = register?.querySelector('button[type="submit"]')
let sending = false
register?.addEventListener('submit', (event) => {
  if (sending) return event.preventDefault()
  sending = true
  if (create) create.disabled = true
})
window.addEventListener('pageshow', (event) => {
  if (!event.persisted) return
  sending = false
  if (create) create.disabled = false
})
`
