/**
 * `pnpm textgate <command>`: serve, migrate, projects create, keys rotate. Every command takes
 * `--json` for scripts.
 * @module
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { type Config, ConfigError, loadConfig } from '../config'
import { FraudSettingsError } from '../fraud/settings'
import { createLogger } from '../logger'
import { formatOutboxStatus, outboxStatus } from '../outbox/status'
import {
  createApiKey,
  createProject,
  getRegistrations,
  setRegistrations,
  setTemplates,
} from '../projects'
import { loadRoutingFile, RoutingConfigError, routerFromConfig, routingWarnings } from '../routing'
import { deriveSecrets } from '../secrets'
import { startServer } from '../server'
import { migrateToLatest, openStorage, type Storage } from '../storage'
import { parseRegistrations, RegistrationsError } from '../templates/registrations'
import { createTokenService } from '../tokens'
import { FRAUD_USAGE, FraudUsageError, fraudCommand } from './fraud'
import {
  auditVerifyCommand,
  OPERATORS_USAGE,
  OperatorsUsageError,
  operatorsCommand,
} from './operators'
import { WEBHOOKS_USAGE, WebhooksUsageError, webhooksCommand } from './webhooks'

const USAGE = `Usage: pnpm textgate <command> [options]

Commands:
  serve                         start the server (settings from the environment)
  migrate                       apply pending database migrations
  projects create --name NAME --origin URL [--origin URL ...]
                  [--country XX ...] [--brand TEXT] [--code-length 4-10]
                                create a project; prints its id and test keys
                  [--fraud-settings FILE]  (see README: fraud guard)
                  [--templates FILE]  code-message templates, JSON { "fr": "{code} est …" }
                  [--registrations FILE]  China sign name and template ids, India DLT ids
  templates set --project ID --file FILE | --reset
                                replace a project's code-message templates
  registrations set --project ID --file FILE | --reset
                                China sign name and Alibaba/Tencent template ids, India
                                DLT ids for a project (see README: China and India)
  registrations show --project ID
                                a project's SMS registrations
  keys rotate                   sign new tokens with a new key (old public keys stay
                                in the JWKS until their tokens have expired)
${FRAUD_USAGE}
${OPERATORS_USAGE}
${WEBHOOKS_USAGE}
  keys create --project ID [--live]
                                a new publishable and secret key pair for a project
                                (test mode, or live mode with --live)
  outbox status [--hours N]     texts waiting, being sent, given up; each carrier's
                                delivery figures over the last N hours (default 1)
  routes check [--file PATH]    check a routing file (default: TEXTGATE_ROUTES_FILE)
  routes plan --project ID --to +E164 [--file PATH]
                                the routes a live message to that number would try

Options:
  --json                        machine-readable output
  --help                        this text

Settings (environment): PORT, PUBLIC_URL, DATABASE_URL, TEXTGATE_SECRET, LOG_LEVEL, NODE_ENV,
TEXTGATE_DATA_DIR, TRUST_PROXY, TEXTGATE_ROUTES_FILE (live carriers and routes),
TEXTGATE_OUTBOX_CLAIM_MS, TEXTGATE_OUTBOX_WINDOW`

class UsageError extends Error {}

interface Output {
  json: boolean
  print(human: string, data: unknown): void
}

function output(json: boolean): Output {
  return {
    json,
    print(human, data) {
      process.stdout.write(json ? `${JSON.stringify(data, null, 2)}\n` : `${human}\n`)
    },
  }
}

async function withStorage<T>(config: Config, run: (storage: Storage) => Promise<T>): Promise<T> {
  const storage = openStorage(config.databaseUrl)
  try {
    await migrateToLatest(storage)
    return await run(storage)
  } finally {
    await storage.close()
  }
}

function settings(): Config {
  return loadConfig(process.env, {
    warn: (message) => process.stderr.write(`[textgate] warning: ${message}\n`),
  })
}

async function serve(): Promise<void> {
  const logger = createLogger(process.env.LOG_LEVEL ?? 'info', {
    pretty: Boolean(process.stdout.isTTY) && process.env.NODE_ENV !== 'production',
  })
  const config = loadConfig(process.env, { warn: (message) => logger.warn(message) })
  const server = await startServer(config, { logger })
  logger.info(
    {
      url: server.url,
      publicUrl: config.publicUrl,
      database: config.databaseUrl.startsWith('sqlite:') ? config.databaseUrl : 'postgres',
      secret: config.secretSource,
    },
    `textgate listening on ${server.url}`,
  )
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down: finishing requests under way')
    server.close().then(
      () => {
        logger.info('stopped')
        logger.flush?.()
        process.exit(0)
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

async function run(argv: string[]): Promise<void> {
  if (argv[0] === 'webhooks' && !argv.includes('--help')) {
    const config = settings()
    const result = await withStorage(config, (storage) =>
      webhooksCommand(argv, { storage, secret: config.secret }),
    )
    output(argv.includes('--json')).print(result.human, result.data)
    return
  }
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
      name: { type: 'string' },
      origin: { type: 'string', multiple: true },
      country: { type: 'string', multiple: true },
      brand: { type: 'string' },
      'code-length': { type: 'string' },
      'fraud-settings': { type: 'string' },
      project: { type: 'string' },
      file: { type: 'string' },
      phone: { type: 'string' },
      prefix: { type: 'string' },
      ip: { type: 'string' },
      note: { type: 'string' },
      id: { type: 'string' },
      limit: { type: 'string' },
      decision: { type: 'string' },
      hours: { type: 'string' },
      templates: { type: 'string' },
      registrations: { type: 'string' },
      reset: { type: 'boolean', default: false },
      live: { type: 'boolean', default: false },
      to: { type: 'string' },
      email: { type: 'string' },
      role: { type: 'string' },
    },
  })
  const out = output(values.json)
  const command = positionals.join(' ')
  if (values.help || command === '' || command === 'help') {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  switch (command) {
    case 'serve':
      return serve()
    case 'migrate': {
      const config = settings()
      const storage = openStorage(config.databaseUrl)
      try {
        const applied = await migrateToLatest(storage)
        out.print(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date', {
          applied,
        })
      } finally {
        await storage.close()
      }
      return
    }
    case 'projects create': {
      if (!values.name) throw new UsageError('projects create needs --name')
      if (!values.origin?.length)
        throw new UsageError('projects create needs at least one --origin')
      const codeLength =
        values['code-length'] === undefined ? undefined : Number(values['code-length'])
      const config = settings()
      const created = await withStorage(config, ({ db }) =>
        createProject(db, {
          name: values.name!,
          origins: values.origin!,
          countries: values.country,
          brand: values.brand,
          codeLength,
          fraudSettings: values['fraud-settings']
            ? JSON.parse(readFileSync(values['fraud-settings'], 'utf8'))
            : undefined,
          templates: values.templates
            ? JSON.parse(readFileSync(values.templates, 'utf8'))
            : undefined,
          registrations: values.registrations
            ? readFileSync(values.registrations, 'utf8')
            : undefined,
        }),
      )
      const origins = JSON.parse(created.project.allowed_origins) as string[]
      out.print(
        [
          `project ${created.project.id} (${created.project.name})`,
          `  allowed origins:  ${origins.join(', ')}`,
          `  publishable key:  ${created.publishableKey}`,
          `  secret key:       ${created.secretKey}`,
          '  The secret key is shown only this once: store it on your store server.',
        ].join('\n'),
        {
          projectId: created.project.id,
          name: created.project.name,
          origins,
          publishableKey: created.publishableKey,
          secretKey: created.secretKey,
        },
      )
      return
    }
    case 'templates set': {
      if (!values.project) throw new UsageError('templates set needs --project ID')
      if (!values.file && !values.reset)
        throw new UsageError('templates set needs --file or --reset')
      const templates = values.reset ? null : JSON.parse(readFileSync(values.file!, 'utf8'))
      const config = settings()
      const found = await withStorage(config, ({ db }) =>
        setTemplates(db, values.project!, templates),
      )
      if (!found) throw new UsageError(`no project ${values.project}`)
      out.print(
        templates
          ? `templates saved for ${Object.keys(templates).join(', ')}`
          : 'back to the default templates',
        { projectId: values.project, templates },
      )
      return
    }
    case 'registrations set': {
      if (!values.project) throw new UsageError('registrations set needs --project ID')
      if (!values.file && !values.reset)
        throw new UsageError('registrations set needs --file or --reset')
      const registrations = values.reset ? null : readFileSync(values.file!, 'utf8')
      const config = settings()
      const found = await withStorage(config, ({ db }) =>
        setRegistrations(db, values.project!, registrations),
      )
      if (!found) throw new UsageError(`no project ${values.project}`)
      const saved = registrations === null ? null : parseRegistrations(registrations)
      out.print(saved ? 'SMS registrations saved' : 'SMS registrations removed', {
        projectId: values.project,
        registrations: saved,
      })
      return
    }
    case 'registrations show': {
      if (!values.project) throw new UsageError('registrations show needs --project ID')
      const config = settings()
      const registrations = await withStorage(config, ({ db }) =>
        getRegistrations(db, values.project!),
      )
      out.print(registrations ? JSON.stringify(registrations, null, 2) : 'no SMS registrations', {
        projectId: values.project,
        registrations,
      })
      return
    }
    case 'keys rotate': {
      const config = settings()
      const rotated = await withStorage(config, async ({ db }) => {
        const tokens = createTokenService({
          db,
          encryptionKey: deriveSecrets(config.secret).encryptionKey,
          issuer: config.publicUrl,
        })
        await tokens.ensureSigningKey()
        return tokens.rotate()
      })
      out.print(
        `now signing with ${rotated.kid}; ${rotated.retiredKid ?? 'no key'} retired (still in the JWKS until its tokens expire)`,
        rotated,
      )
      return
    }
    case 'keys create': {
      if (!values.project) throw new UsageError('keys create needs --project')
      const mode = values.live ? 'live' : 'test'
      const config = settings()
      const keys = await withStorage(config, async ({ db }) => {
        const project = await db
          .selectFrom('projects')
          .select('id')
          .where('id', '=', values.project!)
          .executeTakeFirst()
        if (!project) throw new Error(`no project ${values.project}`)
        return {
          projectId: project.id,
          mode,
          publishableKey: await createApiKey(db, project.id, 'publishable', mode),
          secretKey: await createApiKey(db, project.id, 'secret', mode),
        }
      })
      out.print(
        [
          `${mode} keys for project ${keys.projectId}`,
          `  publishable key:  ${keys.publishableKey}`,
          `  secret key:       ${keys.secretKey}`,
          '  The secret key is shown only this once: store it on your store server.',
          mode === 'live' && !process.env.TEXTGATE_ROUTES_FILE
            ? '  Live keys send through TEXTGATE_ROUTES_FILE: set it before serving.'
            : '',
        ]
          .filter(Boolean)
          .join('\n'),
        keys,
      )
      return
    }
    case 'outbox status': {
      const hours = values.hours === undefined ? 1 : Number(values.hours)
      if (!Number.isFinite(hours) || hours <= 0) throw new UsageError('--hours must be > 0')
      const status = await withStorage(settings(), ({ db }) =>
        outboxStatus(db, Date.now(), { hours }),
      )
      out.print(formatOutboxStatus(status), status)
      return
    }
    case 'routes check':
    case 'routes plan': {
      const file = values.file ?? process.env.TEXTGATE_ROUTES_FILE
      if (!file) throw new UsageError(`${command} needs --file or TEXTGATE_ROUTES_FILE`)
      const routing = loadRoutingFile(file)
      if (command === 'routes check') {
        const rules = Object.values(routing.projects).reduce((n, p) => n + p.rules.length, 0)
        const warnings = routingWarnings(routing)
        out.print(
          [
            `${file} is valid: ${routing.carriers.length} carriers (${routing.carriers.map((c) => c.id).join(', ')}), ${rules} rules for ${Object.keys(routing.projects).length} project keys`,
            ...warnings.map((w) => `warning: ${w}`),
          ].join('\n'),
          {
            valid: true,
            carriers: routing.carriers.map((c) => ({ id: c.id, type: c.type })),
            projects: Object.keys(routing.projects),
            warnings,
          },
        )
        return
      }
      if (!values.project || !values.to)
        throw new UsageError('routes plan needs --project and --to')
      const router = routerFromConfig(routing)
      const plan = router.plan(values.project, values.to)
      await router.close()
      out.print(
        plan.length === 0
          ? `no route for ${values.to} in project ${values.project}`
          : plan
              .map(
                (route, i) =>
                  `${i + 1}. ${route.carrier} (priority ${route.priority}, weight ${route.weight}${route.costPerSegment === undefined ? '' : `, ${route.costPerSegment} per segment`}) from ${route.rule}`,
              )
              .join('\n'),
        { routes: plan },
      )
      return
    }
    case 'audit verify': {
      const result = await withStorage(settings(), ({ db }) =>
        auditVerifyCommand(db, values.project),
      )
      out.print(result.human, result.data)
      if (result.exitCode) process.exitCode = result.exitCode
      return
    }
    default: {
      if (positionals[0] === 'operators' && positionals.length === 2) {
        const config = settings()
        const result = await withStorage(config, ({ db }) =>
          operatorsCommand(positionals[1] ?? '', values, db, config.publicUrl),
        )
        out.print(result.human, result.data)
        return
      }
      if (positionals[0] === 'fraud' && positionals.length === 2) {
        const config = settings()
        const result = await withStorage(config, ({ db }) =>
          fraudCommand(positionals[1] ?? '', values, db),
        )
        out.print(result.human, result.data)
        return
      }
      throw new UsageError(`unknown command "${command}"`)
    }
  }
}

run(process.argv.slice(2)).catch((error: unknown) => {
  if (
    error instanceof UsageError ||
    error instanceof FraudUsageError ||
    error instanceof OperatorsUsageError ||
    error instanceof WebhooksUsageError
  ) {
    process.stderr.write(`textgate: ${error.message}\n\n${USAGE}\n`)
    process.exit(2)
  }
  if (
    error instanceof ConfigError ||
    error instanceof FraudSettingsError ||
    error instanceof RegistrationsError ||
    error instanceof RoutingConfigError
  ) {
    process.stderr.write(`${error.message}\n`)
    process.exit(1)
  }
  const message = error instanceof Error ? error.message : String(error)
  process.stderr.write(`textgate: ${message}\n`)
  process.exit(1)
})
