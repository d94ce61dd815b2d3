/**
 * The `generic` entry of the routing file: any HTTP gateway, described by a request template.
 * @module
 */
import * as v from 'valibot'
import { withFields } from '../../with-fields'
import {
  EnvName,
  fieldMessage,
  HeaderName,
  HttpUrl,
  Identifier,
  Milliseconds,
  PositiveInteger,
  ReportStatusSchema,
  Sender,
  Text,
} from '../entry-fields'
import { defineCarrierKind } from '../kind'
import { genericCapabilities, genericHttpCarrier } from './index'

type BodyTemplateValue = string | number | boolean | { [key: string]: BodyTemplateValue }
const BodyTemplateValueSchema: v.GenericSchema<BodyTemplateValue> = v.union(
  [
    v.string(),
    v.number(),
    v.boolean(),
    v.record(
      v.string(),
      v.lazy(() => BodyTemplateValueSchema),
    ),
  ],
  'must be a string, number, boolean or object',
)

export const GenericCarrierSchema = v.strictObject(
  {
    id: Identifier,
    type: v.literal('generic'),
    url: HttpUrl,
    method: v.optional(v.picklist(['POST', 'PUT'], 'must be "POST" or "PUT"')),
    bodyFormat: v.optional(v.picklist(['json', 'form'], 'must be "json" or "form"')),
    /**
     * Strings may hold {{to}}, {{toDigits}}, {{text}}, {{id}}, {{from}}, {{encoding}}, {{code}},
     * {{minutes}}, {{brand}}, {{locale}}, {{signName}}, {{dltEntityId}}, {{dltTemplateId}},
     * {{validitySeconds}}.
     */
    body: v.record(v.string(), BodyTemplateValueSchema, 'must be an object'),
    /** Headers without secrets; an Authorization header belongs in headersEnv. */
    headers: v.optional(
      v.record(
        v.pipe(
          HeaderName,
          v.check(
            (name) => name.toLowerCase() !== 'authorization',
            'Authorization holds a secret: put it in "headersEnv"',
          ),
        ),
        v.string('must be a string'),
        'must be an object',
      ),
    ),
    /** Header name to the environment variable holding its whole value ("Bearer …"). */
    headersEnv: v.optional(v.record(HeaderName, EnvName, 'must be an object')),
    from: v.optional(Sender),
    /** Dotted path of the message id in the JSON answer, e.g. "data.message.id". */
    responseIdPath: Text,
    callback: v.optional(
      v.strictObject(
        {
          secretEnv: EnvName,
          header: v.optional(HeaderName),
          idPath: Text,
          statusPath: Text,
          statusMap: v.record(v.string(), ReportStatusSchema, 'must be an object'),
          errorCodePath: v.optional(Text),
          timePath: v.optional(Text),
          listPath: v.optional(Text),
        },
        fieldMessage,
      ),
    ),
    /** The range the gateway accepts for {{validitySeconds}} (seconds); default 1, no maximum. */
    validitySeconds: v.optional(
      v.strictObject(
        { min: v.optional(PositiveInteger), max: v.optional(PositiveInteger) },
        fieldMessage,
      ),
    ),
    capabilities: v.optional(
      v.strictObject(
        {
          unicode: v.optional(v.boolean('must be true or false')),
          maxParts: v.optional(PositiveInteger),
          templatesOnly: v.optional(v.boolean('must be true or false')),
          senderId: v.optional(
            v.strictObject(
              {
                alphanumeric: v.boolean('must be true or false'),
                maxLength: v.pipe(v.number('must be a number'), v.integer(), v.minValue(0)),
              },
              fieldMessage,
            ),
          ),
        },
        fieldMessage,
      ),
    ),
    timeoutMs: v.optional(Milliseconds),
  },
  fieldMessage,
)

export const genericKind = defineCarrierKind({
  type: 'generic',
  schema: GenericCarrierSchema,
  capabilities: (entry) =>
    genericCapabilities({
      body: entry.body,
      capabilities: entry.capabilities,
      callback: entry.callback && withFields(entry.callback, { secret: entry.callback.secretEnv }),
    }),
  secretEnvFields: (entry) => [
    ...Object.entries(entry.headersEnv ?? {}).map(
      ([header, name]) => [`headersEnv.${header}`, name] as [string, string],
    ),
    ['callback.secretEnv', entry.callback?.secretEnv],
  ],
  check(entry) {
    const headers = Object.keys(entry.headers ?? {}).map((h) => h.toLowerCase())
    return Object.keys(entry.headersEnv ?? {})
      .filter((h) => headers.includes(h.toLowerCase()))
      .map((h) => `.headersEnv.${h}: the header is also in "headers"`)
  },
  create: (entry, { secret }) =>
    genericHttpCarrier({
      id: entry.id,
      url: entry.url,
      method: entry.method,
      bodyFormat: entry.bodyFormat,
      body: entry.body,
      headers: withFields(
        entry.headers ?? {},
        Object.fromEntries(
          Object.entries(entry.headersEnv ?? {}).map(([header, name]) => [header, secret(name)]),
        ),
      ),
      from: entry.from,
      responseIdPath: entry.responseIdPath,
      callback: entry.callback && {
        secret: secret(entry.callback.secretEnv),
        header: entry.callback.header,
        idPath: entry.callback.idPath,
        statusPath: entry.callback.statusPath,
        statusMap: entry.callback.statusMap,
        errorCodePath: entry.callback.errorCodePath,
        timePath: entry.callback.timePath,
        listPath: entry.callback.listPath,
      },
      capabilities: entry.capabilities,
      validitySeconds: entry.validitySeconds,
      timeoutMs: entry.timeoutMs,
    }),
})
