import { html, LitElement, type PropertyValues } from 'lit'
import { ApiError } from './api'
import { t } from './strings/en'
import { base } from './styles'

export interface ProjectInfo {
  id: string
  name: string
  role: string
  permissions: string[]
  /** Owner of every project: the server's signing key is theirs to rotate. */
  everyProjectOwner?: boolean
}

/** Formatting in the browser's locale and time zone. */
export const fmt = {
  time: (ms: number | null | undefined) =>
    ms === null || ms === undefined
      ? '—'
      : new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' }),
  number: (n: number) => n.toLocaleString(),
  percent: (share: number) =>
    share.toLocaleString(undefined, { style: 'percent', maximumFractionDigits: 1 }),
  duration: (ms: number | null) => {
    if (ms === null) return '—'
    if (ms < 1000) return `${ms} ms`
    if (ms < 120_000)
      return `${(ms / 1000).toLocaleString(undefined, { maximumFractionDigits: 1 })} s`
    return `${(ms / 60_000).toLocaleString(undefined, { maximumFractionDigits: 1 })} min`
  },
  money: (amount: number, currency: string) => {
    try {
      return amount.toLocaleString(undefined, {
        style: 'currency',
        currency,
        maximumFractionDigits: 4,
      })
    } catch {
      return `${amount} ${currency}`
    }
  },
}

/**
 * A page of one project: it gets the project (with the operator's permissions in it) and loads
 * its data; errors show in place with a retry.
 */
export abstract class ProjectPage extends LitElement {
  static override properties = {
    project: { attribute: false },
    sub: {},
    loading: { state: true },
    error: { state: true },
  }
  static override styles = [base]
  declare project: ProjectInfo
  declare sub: string
  declare loading: boolean
  declare error: string | undefined

  protected can(permission: string): boolean {
    return this.project?.permissions.includes(permission) ?? false
  }

  protected get base(): string {
    return `/projects/${encodeURIComponent(this.project.id)}`
  }

  protected abstract load(): Promise<void>

  protected override updated(changed: PropertyValues) {
    if (changed.has('project') || changed.has('sub')) void this.refresh()
  }

  protected async refresh() {
    this.loading = true
    this.error = undefined
    try {
      await this.load()
    } catch (error) {
      this.error = error instanceof ApiError ? error.message : String(error)
    } finally {
      this.loading = false
    }
  }

  protected status() {
    if (this.error) {
      return html`<div role="alert" class="card error">${t.app.error}: ${this.error}
        <button type="button" class="secondary" @click=${() => this.refresh()}>${t.app.retry}</button></div>`
    }
    return html`<p role="status" class="muted">${this.loading ? t.app.loading : ''}</p>`
  }
}

/** A wide table in a region that scrolls sideways on a narrow screen, reachable by keyboard. */
export function scrollTable(label: string, table: unknown) {
  return html`<div class="scroll" tabindex="0" role="group" aria-label=${label}>${table}</div>`
}

/** Navigates inside the console without a page load. */
export function go(path: string): void {
  history.pushState(null, '', path)
  window.dispatchEvent(new PopStateEvent('popstate'))
}

/** A link that navigates inside the console. */
export function link(href: string, label: unknown, current = false) {
  return html`<a href=${href} aria-current=${current ? 'page' : 'false'} @click=${(
    event: MouseEvent,
  ) => {
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return
    event.preventDefault()
    go(href)
  }}>${label}</a>`
}
