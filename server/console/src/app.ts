import { css, html, LitElement, nothing } from 'lit'
import { api, SESSION_ENDED, setCsrf } from './api'
import { go, link, type ProjectInfo } from './page'
import { t } from './strings/en'
import { base } from './styles'
import './pages/login'
import './pages/setup'
import './pages/overview'
import './pages/verifications'
import './pages/sandbox'
import './pages/fraud'
import './pages/messaging'
import './pages/settings'
import './pages/audit'
import './pages/account'

interface SessionInfo {
  operator: { id: string; email: string }
  csrfToken: string
  projects: ProjectInfo[]
}

/** The pages of a project, the permission each needs, and its element. */
const PAGES = [
  { path: 'overview', label: t.nav.overview, permission: 'overview.read', tag: 'tg-overview-page' },
  {
    path: 'verifications',
    label: t.nav.verifications,
    permission: 'verifications.list',
    tag: 'tg-verifications-page',
  },
  {
    path: 'lookup',
    label: t.nav.lookup,
    permission: 'verifications.lookup',
    tag: 'tg-lookup-page',
  },
  { path: 'fraud', label: t.nav.fraud, permission: 'fraud.read', tag: 'tg-fraud-page' },
  {
    path: 'messaging',
    label: t.nav.messaging,
    permission: 'delivery.read',
    tag: 'tg-messaging-page',
  },
  { path: 'settings', label: t.nav.settings, permission: 'settings.read', tag: 'tg-settings-page' },
  { path: 'audit', label: t.nav.audit, permission: 'audit.read', tag: 'tg-audit-page' },
  { path: 'sandbox', label: t.nav.sandbox, permission: 'sandbox.use', tag: 'tg-sandbox-page' },
] as const

/**
 * The console: the session, the project picker, the navigation each role may use, and the
 * page for the current path (/console/p/:projectId/:page[/:sub]).
 * @summary Operator console.
 */
export class ConsoleApp extends LitElement {
  static override properties = {
    session: { state: true },
    path: { state: true },
    checked: { state: true },
    menuOpen: { state: true },
  }
  static override styles = [
    base,
    css`
      :host { display: block; min-height: 100vh; background: var(--bg); }
      .skip { position: absolute; left: -999px; top: 0; background: var(--bg); padding: 0.5rem; z-index: 10; }
      .skip:focus { left: 0.5rem; }
      header {
        display: flex; align-items: center; gap: 1rem; flex-wrap: wrap;
        padding: 0.6rem 1rem; border-bottom: 1px solid var(--border); background: var(--surface);
      }
      header .brand { font-weight: 700; margin-right: auto; }
      .layout { display: grid; grid-template-columns: 14rem 1fr; min-height: calc(100vh - 3.5rem); }
      nav ul { list-style: none; margin: 0; padding: 0.75rem; }
      nav li a {
        display: block; padding: 0.45rem 0.6rem; border-radius: 6px; color: var(--text); text-decoration: none;
      }
      nav li a[aria-current='page'] { background: var(--accent); color: var(--accent-text); }
      nav { border-right: 1px solid var(--border); }
      main { padding: 1rem 1.25rem 3rem; min-width: 0; }
      .menu-button { display: none; }
      .who { font-size: 0.9rem; }
      @media (max-width: 760px) {
        .layout { grid-template-columns: 1fr; }
        nav { border-right: 0; border-bottom: 1px solid var(--border); }
        nav[data-open='false'] { display: none; }
        .menu-button { display: inline-block; }
        .who { width: 100%; }
      }
    `,
  ]
  declare session: SessionInfo | undefined
  declare path: string
  declare checked: boolean
  declare menuOpen: boolean

  constructor() {
    super()
    this.path = location.pathname
    this.checked = false
    this.menuOpen = false
  }

  override connectedCallback() {
    super.connectedCallback()
    window.addEventListener('popstate', this.onNavigate)
    window.addEventListener(SESSION_ENDED, this.onSessionEnded)
    void this.loadSession()
  }

  override disconnectedCallback() {
    super.disconnectedCallback()
    window.removeEventListener('popstate', this.onNavigate)
    window.removeEventListener(SESSION_ENDED, this.onSessionEnded)
  }

  private onNavigate = () => {
    this.path = location.pathname
    this.menuOpen = false
    void this.updateComplete.then(() => {
      const heading = this.renderRoot.querySelector('main')
      heading?.focus()
    })
  }

  private onSessionEnded = () => {
    this.session = undefined
    if (!location.pathname.startsWith('/console/setup')) go('/console/login')
  }

  async loadSession() {
    try {
      const session = await api<SessionInfo>('GET', '/session')
      setCsrf(session.csrfToken)
      this.session = session
    } catch {
      this.session = undefined
    }
    this.checked = true
  }

  private async logout(everywhere: boolean) {
    try {
      await api('POST', everywhere ? '/logout/everywhere' : '/logout')
    } finally {
      this.session = undefined
      go('/console/login')
    }
  }

  private onLoggedIn = async () => {
    await this.loadSession()
    go('/console/')
  }

  override render() {
    if (!this.checked) return html`<p role="status">${t.app.loading}</p>`
    if (this.path.startsWith('/console/setup')) {
      return html`<main id="main" tabindex="-1"><tg-setup-page></tg-setup-page></main>`
    }
    if (!this.session) {
      if (this.path !== '/console/login') history.replaceState(null, '', '/console/login')
      return html`<main id="main" tabindex="-1"><tg-login-page @tg-logged-in=${this.onLoggedIn}></tg-login-page></main>`
    }
    const { projects, operator } = this.session
    const match = /^\/console\/p\/([^/]+)\/([^/]+)(?:\/(.+))?$/.exec(this.path)
    const project =
      projects.find((p) => p.id === decodeURIComponent(match?.[1] ?? '')) ?? projects[0]
    const allowed = project
      ? PAGES.filter((p) => project.permissions.includes(p.permission) && customElements.get(p.tag))
      : []
    const onAccount = this.path === '/console/account'
    const pageName = match?.[2] ?? (onAccount ? undefined : allowed[0]?.path)
    const page = allowed.find((p) => p.path === pageName)
    if (project && !match && allowed[0] && !onAccount) {
      history.replaceState(null, '', `/console/p/${project.id}/${allowed[0].path}`)
    }
    return html`
      <header>
        <button type="button" class="skip secondary" @click=${() => this.renderRoot.querySelector<HTMLElement>('main')?.focus()}>${t.app.skip}</button>
        <span class="brand">${t.app.title}</span>
        <button type="button" class="menu-button secondary" aria-expanded=${this.menuOpen ? 'true' : 'false'}
          aria-controls="nav" @click=${() => {
            this.menuOpen = !this.menuOpen
          }}>${t.app.menu}</button>
        ${
          projects.length > 1
            ? html`<label class="visually-hidden" for="project">${t.app.project}</label>
              <select id="project" @change=${(e: Event) => go(`/console/p/${(e.target as HTMLSelectElement).value}/overview`)}>
                ${projects.map((p) => html`<option value=${p.id} ?selected=${p.id === project?.id}>${p.name}</option>`)}
              </select>`
            : project
              ? html`<span>${project.name}</span>`
              : nothing
        }
        <span class="who muted">${t.app.signedInAs(operator.email)}${project ? ` · ${t.roles[project.role] ?? project.role}` : ''}</span>
        ${link('/console/account', t.account.link, onAccount)}
        <button type="button" class="secondary" @click=${() => this.logout(false)}>${t.app.logout}</button>
        <button type="button" class="secondary" @click=${() => this.logout(true)}>${t.app.logoutEverywhere}</button>
      </header>
      <div class="layout">
        <nav id="nav" aria-label=${t.app.menu} data-open=${this.menuOpen ? 'true' : 'false'}>
          <ul>${allowed.map(
            (p) =>
              html`<li>${link(`/console/p/${project!.id}/${p.path}`, p.label, p === page)}</li>`,
          )}</ul>
        </nav>
        <main id="main" tabindex="-1">
          ${
            onAccount
              ? html`<tg-account-page></tg-account-page>`
              : !project
                ? html`<h1>${t.app.title}</h1><p>${t.app.noProjects}</p>`
                : !page
                  ? html`<h1>${t.app.title}</h1><p role="alert">${pageName && PAGES.some((p) => p.path === pageName) ? t.app.forbidden : t.app.notFound}</p>`
                  : this.renderPage(page.tag, project, match?.[3] ?? '')
          }
        </main>
      </div>
    `
  }

  private renderPage(tag: string, project: ProjectInfo, sub: string) {
    switch (tag) {
      case 'tg-overview-page':
        return html`<tg-overview-page .project=${project} sub=${sub}></tg-overview-page>`
      case 'tg-verifications-page':
        return html`<tg-verifications-page .project=${project} sub=${sub}></tg-verifications-page>`
      case 'tg-lookup-page':
        return html`<tg-lookup-page .project=${project} sub=${sub}></tg-lookup-page>`
      case 'tg-fraud-page':
        return html`<tg-fraud-page .project=${project} sub=${sub}></tg-fraud-page>`
      case 'tg-messaging-page':
        return html`<tg-messaging-page .project=${project} sub=${sub}></tg-messaging-page>`
      case 'tg-settings-page':
        return html`<tg-settings-page .project=${project} sub=${sub}></tg-settings-page>`
      case 'tg-audit-page':
        return html`<tg-audit-page .project=${project} sub=${sub}></tg-audit-page>`
      default:
        return html`<tg-sandbox-page .project=${project} sub=${sub}></tg-sandbox-page>`
    }
  }
}
customElements.define('tg-console', ConsoleApp)

declare global {
  interface HTMLElementTagNameMap {
    'tg-console': ConsoleApp
  }
}
