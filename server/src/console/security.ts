/**
 * What every console request passes through: security headers, the session cookie, CSRF and
 * origin checks, per-project roles and the project's IP allowlist.
 * @module
 */

import { createHmac, timingSafeEqual } from 'node:crypto'
import type { Context, MiddlewareHandler } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import type { Kysely } from 'kysely'
import { ipMatches } from '../fraud/network'
import type { TrustedProxies } from '../http/client-ip'
import { ApiError } from '../http/errors'
import { setResponseHeader } from '../http/headers'
import { localPort, requestedHost, type ServerHosts } from '../http/server-hosts'
import { ALL_PROJECTS, can, type Permission, roleIn, rolesOf } from '../operators'
import { csrfToken, readSession, type Session } from '../operators/sessions'
import type { Database, OperatorRole, Project } from '../storage'
import { withFields } from '../with-fields'

declare module 'hono' {
  interface ContextVariableMap {
    session: Session & { id: string }
    project: Project
    role: OperatorRole
    /** The operator's role on every project (a `*` grant), which server-wide figures need. */
    everyProjectRole: OperatorRole | undefined
  }
}

/** No inline script or style anywhere in the console. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

export function consoleHeaders(): MiddlewareHandler {
  return async function consoleHeaders(c, next) {
    await next()
    setResponseHeader(c, 'Content-Security-Policy', CONSOLE_CSP)
    setResponseHeader(c, 'X-Content-Type-Options', 'nosniff')
    setResponseHeader(c, 'X-Frame-Options', 'DENY')
    setResponseHeader(c, 'Referrer-Policy', 'no-referrer')
    setResponseHeader(c, 'Cross-Origin-Opener-Policy', 'same-origin')
    if (c.req.path.startsWith('/console/api/')) setResponseHeader(c, 'Cache-Control', 'no-store')
  }
}

export interface CookieSettings {
  /** The session's cookie. */
  name: string
  /** The device cookie's (see ../operators/devices.ts). */
  deviceName: string
  secure: boolean
  path: string
}

/**
 * Secure cookies with the `__Host-` prefix, except when the server's public URL is plain
 * http on this machine (a developer's `pnpm start`), where browsers would drop them.
 */
export function cookieSettings(publicUrl: string): CookieSettings {
  const url = new URL(publicUrl)
  const local = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)
  const secure = !(url.protocol === 'http:' && local)
  return secure
    ? {
        name: '__Host-textgate_console',
        deviceName: '__Host-textgate_device',
        secure: true,
        path: '/',
      }
    : { name: 'textgate_console', deviceName: 'textgate_device', secure: false, path: '/console' }
}

/** HttpOnly, SameSite=Strict, Secure except on a developer's plain-http localhost. */
function setConsoleCookie(
  c: Context,
  cookie: CookieSettings,
  name: string,
  value: string,
  maxAgeMs: number,
) {
  setCookie(c, name, value, {
    httpOnly: true,
    secure: cookie.secure,
    sameSite: 'Strict',
    path: cookie.path,
    maxAge: Math.floor(maxAgeMs / 1000),
  })
}

export function setSessionCookie(c: Context, cookie: CookieSettings, id: string, maxAgeMs: number) {
  setConsoleCookie(c, cookie, cookie.name, id, maxAgeMs)
}

/** The browser's device cookie (../operators/devices.ts), set as the session's is. */
export function setDeviceCookie(
  c: Context,
  cookie: CookieSettings,
  value: string,
  maxAgeMs: number,
) {
  setConsoleCookie(c, cookie, cookie.deviceName, value, maxAgeMs)
}

export function deviceCookie(c: Context, cookie: CookieSettings): string | undefined {
  return getCookie(c, cookie.deviceName)
}

export function clearSessionCookie(c: Context, cookie: CookieSettings) {
  deleteCookie(c, cookie.name, { path: cookie.path, secure: cookie.secure })
}

export function sessionCookie(c: Context, cookie: CookieSettings): string | undefined {
  return getCookie(c, cookie.name)
}

export function csrfKey(encryptionKey: Buffer): Buffer {
  return createHmac('sha256', encryptionKey).update('textgate/console-csrf/v1').digest()
}

export interface HostGateOptions {
  hosts: ServerHosts
  trustedProxies: TrustedProxies
  peerWhenUnknown: string | null
}

/**
 * Refuses (421 `misdirected_request`) a request whose host is not one of the server's own
 * (../http/server-hosts.ts): a DNS-rebinding page reaches this server under its own name, and
 * its requests carry that name.
 */
export function hostGate({
  hosts,
  trustedProxies,
  peerWhenUnknown,
}: HostGateOptions): MiddlewareHandler {
  return async function hostGate(c, next) {
    const host = requestedHost(c, trustedProxies, peerWhenUnknown)
    if (host === undefined || !hosts.hostAllowed(host, localPort(c))) {
      const where = `${hosts.origins.join(', ')}${hosts.loopback ? ' (and localhost, 127.0.0.1 or [::1] on the port it listens on)' : ''}`
      const message = `This console answers only at ${where}. Behind a proxy, pass the original Host (or X-Forwarded-Host from an address in TRUST_PROXY), or list the address you use in TEXTGATE_CONSOLE_ORIGINS.`
      if (!c.req.path.startsWith('/console/api/')) return c.text(message, 421)
      throw new ApiError('misdirected_request', {}, { message })
    }
    await next()
  }
}

/**
 * The request comes from a page of this server: its `Origin` is one of the server's own (never
 * compared with the request's `Host`, which a DNS-rebinding page chooses), or without one,
 * Fetch Metadata says same-origin (after hostGate, the origin is one of the server's).
 */
function sameOrigin(c: Context, hosts: ServerHosts): boolean {
  const origin = c.req.header('Origin')
  if (origin) return hosts.originAllowed(origin, localPort(c))
  const site = c.req.header('Sec-Fetch-Site')
  return site === 'same-origin'
}

export interface SessionGateOptions {
  db: Kysely<Database>
  cookie: CookieSettings
  csrf: Buffer
  hosts: ServerHosts
  now: () => number
}

/**
 * Reads the session (any stage) into `c.get('session')`, and on every change refuses a request
 * from another origin or without the session's anti-CSRF token.
 */
export function sessionGate({
  db,
  cookie,
  csrf,
  hosts,
  now,
}: SessionGateOptions): MiddlewareHandler {
  return async function sessionGate(c, next) {
    const id = sessionCookie(c, cookie)
    const session = id ? await readSession(db, id, now()) : undefined
    if (session && id) c.set('session', withFields(session, { id }))
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      if (!sameOrigin(c, hosts)) throw new ApiError('csrf_failed')
      if (session && id) {
        const sent = Buffer.from(c.req.header('X-CSRF-Token') ?? '')
        const expected = Buffer.from(csrfToken(csrf, id))
        if (sent.length !== expected.length || !timingSafeEqual(sent, expected)) {
          throw new ApiError('csrf_failed')
        }
      }
    }
    await next()
  }
}

/** Only an operator past both factors. */
export function requireOperator(db: Kysely<Database>): MiddlewareHandler {
  return async function requireOperator(c, next) {
    const session = c.get('session')
    if (session?.stage !== 'full') throw new ApiError('unauthenticated')
    const operator = await db
      .selectFrom('operators')
      .select(['id', 'email'])
      .where('id', '=', session.operatorId)
      .executeTakeFirst()
    if (!operator) throw new ApiError('unauthenticated')
    c.set('operator', operator)
    await next()
  }
}

export function ipAllowlist(project: Pick<Project, 'ip_allowlist'>): string[] {
  return project.ip_allowlist ? (JSON.parse(project.ip_allowlist) as string[]) : []
}

/** True when the project has no allowlist, or `ip` is in one of its ranges. */
export function ipAllowed(project: Pick<Project, 'ip_allowlist'>, ip: string | null): boolean {
  const ranges = ipAllowlist(project)
  if (ranges.length === 0) return true
  return ip !== null && ranges.some((range) => ipMatches(ip, range))
}

/**
 * `/projects/:projectId/*`: the operator's role in that project (403 without one, the same
 * answer whether the project exists or not), and the project's IP allowlist.
 */
export function projectAccess(db: Kysely<Database>): MiddlewareHandler {
  return async function projectAccess(c, next) {
    const projectId = c.req.param('projectId') ?? ''
    const roles = await rolesOf(db, c.get('operator').id)
    const role = roleIn(roles, projectId)
    const project = role
      ? await db.selectFrom('projects').selectAll().where('id', '=', projectId).executeTakeFirst()
      : undefined
    if (!role || !project) throw new ApiError('forbidden')
    c.set('audit', { projectId })
    if (!ipAllowed(project, c.get('clientIp'))) throw new ApiError('ip_not_allowed')
    c.set('project', project)
    c.set('role', role)
    c.set('everyProjectRole', roles.roles[ALL_PROJECTS])
    await next()
  }
}

/** 403 unless the operator's role in the project grants `permission`. */
export function need(permission: Permission): MiddlewareHandler {
  return async function need(c, next) {
    if (!can(c.get('role'), permission)) throw new ApiError('forbidden', { permission })
    await next()
  }
}

/** Adds to what the audit trail records for this request. */
export function auditNote(c: Context, note: import('../audit').AuditNote): void {
  c.set('audit', withFields(c.get('audit'), note))
}
