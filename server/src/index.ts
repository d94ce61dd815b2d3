/**
 * Textgate's server as a library: start a whole server, or assemble its parts in tests.
 * @module
 */
export { createApp } from './app'
export { alibabaCarrier } from './carriers/alibaba'
export { genericHttpCarrier } from './carriers/generic'
export { infobipCarrier } from './carriers/infobip'
export { segmentInfo } from './carriers/segments'
export { tencentCarrier } from './carriers/tencent'
export { twilioCarrier } from './carriers/twilio'
export type { CarrierAdapter, CarrierCapabilities, DeliveryReport } from './carriers/types'
export { CarrierError } from './carriers/types'
export { vonageCarrier } from './carriers/vonage'
export { type Config, ConfigError, loadConfig } from './config'
export { carrierReportRoutes } from './delivery/reports'
export { createLogger } from './logger'
export { createProject } from './projects'
export { deriveSecrets } from './secrets'
export { type RunningServer, startServer } from './server'
export { migrateToLatest, openStorage, type Storage } from './storage'
