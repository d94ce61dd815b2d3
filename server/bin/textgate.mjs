#!/usr/bin/env node
// `pnpm textgate …` from the repository root: the root links this bin, so pnpm runs it as
// `pnpm exec` would, with no `> textgate …` lines of its own on stdout before a `--json` answer.
// The CLI is TypeScript: tsx compiles it as it loads, in this same process (signals reach it).
import { register } from 'tsx/esm/api'

register()
await import('../src/cli/main.ts')
