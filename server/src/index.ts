/**
 * Textgate's server as a library: start a whole server, or assemble its parts in tests.
 * @module
 */
export { createApp } from './app'
export { type Config, ConfigError, loadConfig } from './config'
export { createLogger } from './logger'
export { createProject } from './projects'
export { deriveSecrets } from './secrets'
export { type RunningServer, startServer } from './server'
export { migrateToLatest, openStorage, type Storage } from './storage'
