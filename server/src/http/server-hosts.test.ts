import { describe, expect, it } from 'vitest'
import { serverHosts } from './server-hosts'

describe('serverHosts', () => {
  const production = serverHosts({
    publicUrl: 'https://verify.example',
    extraOrigins: ['http://console.internal:8080'],
    loopback: false,
  })

  it("takes PUBLIC_URL's host in any case and with its default port written out", () => {
    for (const host of ['verify.example', 'Verify.Example', 'verify.example:443']) {
      expect(production.hostAllowed(host, 8787), host).toBe(true)
    }
    for (const host of [
      'verify.example:80',
      'verify.example:8787',
      'evil.example',
      'verify.example.evil.example',
      '',
    ]) {
      expect(production.hostAllowed(host, 8787), host).toBe(false)
    }
    expect(production.hostAllowed('console.internal:8080', 8787)).toBe(true)
    expect(production.hostAllowed('console.internal', 8787)).toBe(false)
  })

  it('takes loopback names on the listening port only when asked to', () => {
    expect(production.hostAllowed('localhost:8787', 8787)).toBe(false)
    const development = serverHosts({ publicUrl: 'http://localhost:8787', loopback: true })
    for (const host of ['localhost:5000', '127.0.0.1:5000', '[::1]:5000']) {
      expect(development.hostAllowed(host, 5000), host).toBe(true)
      expect(development.hostAllowed(host, 5001), host).toBe(false)
      expect(development.hostAllowed(host, undefined), host).toBe(false)
    }
    expect(development.originAllowed('http://127.0.0.1:5000', 5000)).toBe(true)
    expect(development.originAllowed('https://127.0.0.1:5000', 5000)).toBe(false)
    expect(development.originAllowed('http://localhost:8787', 5000)).toBe(true)
  })

  it('compares origins exactly as browsers send them (lower case, no default port)', () => {
    expect(production.originAllowed('https://verify.example', 8787)).toBe(true)
    expect(production.originAllowed('http://console.internal:8080', 8787)).toBe(true)
    for (const origin of ['http://verify.example', 'https://evil.example', 'null']) {
      expect(production.originAllowed(origin, 8787), origin).toBe(false)
    }
    expect(
      serverHosts({ publicUrl: 'HTTPS://Verify.Example:443', loopback: false }).origins,
    ).toEqual(['https://verify.example'])
  })
})
