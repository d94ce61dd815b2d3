/**
 * `pnpm textgate <command>`: finds the command in `commands/` and runs it. Every command takes
 * `--json` for scripts.
 * @module
 */
import { ConfigError } from '../config'
import { FraudSettingsError } from '../fraud/settings'
import { RoutingConfigError } from '../routing'
import { RegistrationsError } from '../templates/registrations'
import { answersTo, output, parseCommandLine, UsageError } from './command'
import { COMMANDS } from './commands'

const USAGE = `Usage: pnpm textgate <command> [options]

Commands:
${COMMANDS.map((command) => command.usage).join('\n')}

Options:
  --json                        machine-readable output
  --help                        this text

Settings (environment): PORT, PUBLIC_URL, DATABASE_URL, TEXTGATE_SECRET, LOG_LEVEL, NODE_ENV,
TEXTGATE_DATA_DIR, TRUST_PROXY, TEXTGATE_ROUTES_FILE (live carriers and routes),
TEXTGATE_OUTBOX_CLAIM_MS, TEXTGATE_OUTBOX_WINDOW, TEXTGATE_POSTGRES_PREPARED,
TEXTGATE_SQLITE_WRITER, TEXTGATE_SQLITE_WRITER_NICE, TEXTGATE_HEAP_GROWING_PERCENT`

async function run(argv: string[]): Promise<void> {
  const own = COMMANDS.find(
    (c) => c.ownArguments && c.name.split(' ')[0] === argv[0] && !argv.includes('--help'),
  )
  if (own) {
    const out = output(argv.includes('--json'))
    return own.run({ words: [], values: parseCommandLine([]).values, argv, out })
  }
  const { values, positionals: words } = parseCommandLine(argv)
  const name = words.join(' ')
  if (values.help || name === '' || name === 'help') {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  const command = COMMANDS.find((c) => answersTo(c, words))
  if (!command) throw new UsageError(`unknown command "${name}"`)
  await command.run({ words, values, argv, out: output(values.json) })
}

/** node:util parseArgs refusing an option (unknown, missing its value, …). */
function isParseArgsError(error: unknown): error is Error {
  return (
    error instanceof Error && /^ERR_PARSE_ARGS_/.test(String((error as { code?: unknown }).code))
  )
}

/**
 * Says why the command failed on stderr and exits non-zero; with `--json`, stdout gets the error
 * as JSON too (`{ "error": { "code", "message" } }`), so a script reads JSON either way.
 */
function fail(code: 'usage' | 'invalid_settings' | 'failed', message: string, hint = '') {
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify({ error: { code, message } }, null, 2)}\n`)
  }
  process.stderr.write(
    code === 'invalid_settings' ? `${message}\n` : `textgate: ${message}\n${hint}`,
  )
  process.exit(code === 'usage' ? 2 : 1)
}

run(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) return fail('usage', error.message, `\n${USAGE}\n`)
  if (isParseArgsError(error)) return fail('usage', error.message, 'See pnpm textgate --help.\n')
  if (
    error instanceof ConfigError ||
    error instanceof FraudSettingsError ||
    error instanceof RegistrationsError ||
    error instanceof RoutingConfigError
  ) {
    return fail('invalid_settings', error.message)
  }
  return fail('failed', error instanceof Error ? error.message : String(error))
})
