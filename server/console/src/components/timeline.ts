import { html } from 'lit'
import { fmt } from '../page'
import { t } from '../strings/en'

export interface Timeline {
  id: string
  mode: string
  phone: string
  country: string
  status: string
  createdAt: number
  start: {
    origin: string | null
    ip: string | null
    locale: string | null
    consentVersion: string
    signals: unknown
  }
  risk: {
    decision: string | null
    reasons: string[]
    events: {
      decision: string
      outcome: string
      reasons: string[]
      shadowReasons: string[]
      at: number
    }[]
  }
  texts: {
    id: string
    carrier: string | null
    status: string
    encoding: string | null
    segments: number | null
    cost: { amount: string; currency: string | null } | null
    error: string | null
    changes: { status: string; at: number }[]
    parts: { part: number; status: string; at: number | null }[]
  }[]
  checks: { attempts: number; sends: number }
  token: { issuedAt: number | null; redeemedAt: number | null }
}

/** One verification, start to token, as an ordered list (the same for every role; masking is the server's). */
export function renderTimeline(v: Timeline, headingLevel: 'h2' | 'h3' = 'h2') {
  const heading = (text: string) =>
    headingLevel === 'h2' ? html`<h2>${text}</h2>` : html`<h3>${text}</h3>`
  return html`<section class="card" aria-label=${`${t.verifications.detail} ${v.id}`}>
    ${heading(`${t.verifications.detail} ${v.id}`)}
    <dl class="figures">
      <div><dt>${t.verifications.number}</dt><dd class="mono" data-testid="detail-phone">${v.phone}</dd></div>
      <div><dt>${t.verifications.status}</dt><dd>${v.status}</dd></div>
      <div><dt>${t.verifications.country}</dt><dd>${v.country}</dd></div>
      <div><dt>${t.verifications.risk}</dt><dd>${v.risk.decision ?? '—'}</dd></div>
    </dl>
    <ol class="timeline">
      <li><strong>${t.verifications.start}</strong> ${fmt.time(v.createdAt)} (${v.mode})
        <ul><li>${t.verifications.origin}: ${v.start.origin ?? '—'}</li><li>${t.verifications.address}: ${v.start.ip ?? '—'}</li>
        ${v.start.signals ? html`<li>${t.verifications.signals}: <code>${JSON.stringify(v.start.signals)}</code></li>` : ''}</ul></li>
      <li><strong>${t.verifications.risk}</strong>: ${v.risk.decision ?? '—'}
        ${v.risk.reasons.length ? html` — ${t.verifications.reasons}: <code>${v.risk.reasons.join(', ')}</code>` : ''}
        ${v.risk.events.length ? html`<ul>${v.risk.events.map((e) => html`<li>${fmt.time(e.at)}: ${e.decision} → ${e.outcome}${e.reasons.length ? html` <code>${e.reasons.join(', ')}</code>` : ''}${e.shadowReasons.length ? html` (shadow <code>${e.shadowReasons.join(', ')}</code>)` : ''}</li>`)}</ul>` : ''}</li>
      ${v.texts.map(
        (
          m,
        ) => html`<li><strong>${t.verifications.texts}</strong>: ${m.carrier ?? '—'} · ${m.encoding ?? ''} ${m.segments ? `${m.segments} ${t.verifications.parts}` : ''}
          · ${t.verifications.cost}: ${m.cost ? `${m.cost.amount} ${m.cost.currency ?? ''}` : '—'} ${m.error ? html`· <span class="error">${m.error}</span>` : ''}
          <ul>${m.changes.map((s) => html`<li>${s.status}: ${fmt.time(s.at)}</li>`)}
          ${m.parts.map((p) => html`<li>${t.verifications.parts} ${p.part}: ${p.status} ${fmt.time(p.at)}</li>`)}</ul></li>`,
      )}
      <li><strong>${t.verifications.checks}</strong>: ${t.verifications.checksCount(v.checks.attempts, v.checks.sends)}</li>
      <li><strong>${t.verifications.token}</strong>: ${t.verifications.issued} ${v.token.issuedAt ? fmt.time(v.token.issuedAt) : t.verifications.notYet};
        ${t.verifications.redeemed} ${v.token.redeemedAt ? fmt.time(v.token.redeemedAt) : t.verifications.notYet}</li>
    </ol>
  </section>`
}
