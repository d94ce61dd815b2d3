/**
 * A refused console form in the form's words: each issue at its field and led by its label,
 * and the API's message with each field named once.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ApiError, api } from './src/api'
import { formErrors } from './src/field-errors'

/** What PUT settings answers for an emptied code length, "GB, UK" and one bad range. */
const refused = new ApiError(400, 'invalid_request', 'allowedCountries.1 …', {
  issues: [
    { path: 'allowedCountries.1', message: '"UK" is not an ISO 3166-1 alpha-2 country code' },
    { path: 'codeLength', message: 'codeLength must be at least 4' },
    { path: 'ipAllowlist.1', message: 'an IP address or CIDR range' },
    { path: 'registrations.signName', message: 'must be text' },
  ],
})

describe('formErrors', () => {
  it("ties each issue to its field, in the form's order, worded with the field's label", () => {
    const { fields, summary } = formErrors(
      refused,
      {
        codeLength: 'Code length',
        allowedCountries: 'Allowed countries (ISO codes, comma-separated)',
        ipAllowlist: 'IP allowlist (CIDR, one per line)',
        registrations: 'China and India registrations',
      },
      { allowedCountries: ['GB', 'UK'], ipAllowlist: ['10.0.0.0/8', 'nope'] },
    )
    expect(fields).toEqual({
      codeLength: 'must be at least 4',
      allowedCountries: '"UK" is not an ISO 3166-1 alpha-2 country code',
      ipAllowlist: '"nope": an IP address or CIDR range',
      registrations: 'signName: must be text',
    })
    expect(summary).toBe(
      'Code length: must be at least 4; Allowed countries: "UK" is not an ISO 3166-1 alpha-2 country code; IP allowlist: "nope": an IP address or CIDR range; China and India registrations: signName: must be text',
    )
  })

  it("keeps the server's message for what no field of the form names", () => {
    expect(formErrors(new ApiError(403, 'forbidden', 'Not allowed.'), {}).summary).toBe(
      'Not allowed.',
    )
    expect(formErrors(refused, {}).summary).toBe(
      '"UK" is not an ISO 3166-1 alpha-2 country code; codeLength must be at least 4; an IP address or CIDR range; must be text',
    )
  })
})

describe('api', () => {
  afterEach(() => vi.unstubAllGlobals())

  it('leads a refusal without issues with the label of the field it is about (Sandbox, Account)', () => {
    const invalidPhone = new ApiError(400, 'invalid_phone', 'This is not a valid phone number.')
    expect(
      formErrors(invalidPhone, { phone: 'Test number' }, { phone: '+44 12' }, { about: 'phone' }),
    ).toEqual({
      fields: { phone: 'This is not a valid phone number.' },
      summary: 'Test number: This is not a valid phone number.',
    })
    // A server failure is not the field's fault; the browser's own errors are its sentence.
    const failed = new ApiError(500, 'internal_error', 'Something failed on the server.')
    expect(formErrors(failed, { phone: 'Test number' }, {}, { about: 'phone' }).summary).toBe(
      'Something failed on the server.',
    )
    const cancelled = new Error('The operation either timed out or was not allowed.')
    expect(formErrors(cancelled, { name: 'Name of the new passkey' }).summary).toBe(
      'The operation either timed out or was not allowed.',
    )
  })

  it('names each field of a refusal once', async () => {
    vi.stubGlobal('fetch', async () =>
      Response.json(
        {
          error: {
            code: 'invalid_request',
            message: '"UK" is not a country',
            issues: [
              { path: 'allowedCountries.1', message: '"UK" is not a country' },
              { path: 'codeLength', message: 'codeLength must be at least 4' },
              { path: 'ipAllowlist.1', message: 'an IP address or CIDR range' },
            ],
          },
        },
        { status: 400 },
      ),
    )
    await expect(api('PUT', '/projects/p/settings', {})).rejects.toThrow(
      '"UK" is not a country: codeLength must be at least 4; ipAllowlist.1 an IP address or CIDR range',
    )
  })
})
