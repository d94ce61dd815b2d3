// The `smpp` package ships no types: the part of its API the adapter and its tests use.
declare module 'smpp' {
  import type { EventEmitter } from 'node:events'
  import type { Server as NetServer, Socket } from 'node:net'

  export class PDU {
    constructor(command: string, options?: Record<string, unknown>)
    command: string
    command_id: number
    command_status: number
    sequence_number: number;
    [field: string]: unknown
    response(options?: Record<string, unknown>): PDU
    isResponse(): boolean
  }

  export class Session extends EventEmitter {
    socket: Socket
    send(pdu: PDU, onResponse?: (pdu: PDU) => void, onSent?: (pdu: PDU) => void): boolean
    close(callback?: () => void): void
    destroy(callback?: () => void): void
    pause(): void
    resume(): void
    bind_transceiver(options: Record<string, unknown>, onResponse?: (pdu: PDU) => void): boolean
    submit_sm(options: Record<string, unknown>, onResponse?: (pdu: PDU) => void): boolean
    deliver_sm(options: Record<string, unknown>, onResponse?: (pdu: PDU) => void): boolean
    enquire_link(options?: Record<string, unknown>, onResponse?: (pdu: PDU) => void): boolean
    unbind(options?: Record<string, unknown>, onResponse?: (pdu: PDU) => void): boolean
  }

  export interface Server extends NetServer {
    sessions: Session[]
  }

  export function connect(options: Record<string, unknown>, listener?: () => void): Session
  export function createServer(
    options: Record<string, unknown>,
    listener?: (session: Session) => void,
  ): Server
  export const errors: Record<string, number>
  export const ESME_ROK: number
  export const ESME_RTHROTTLED: number
  export const ESME_RMSGQFUL: number
  export const ESME_RINVDSTADR: number
  export const ESME_RBINDFAIL: number

  // Under Node's ESM loader the package is CommonJS whose exports are built in loops, so only
  // the default import (module.exports) carries them.
  const smpp: {
    PDU: typeof PDU
    connect: typeof connect
    createServer: typeof createServer
    errors: typeof errors
    ESME_RBINDFAIL: number
    /** Registers an optional parameter (TLV) by name, for every PDU of the process. */
    addTLV(name: string, options: { id: number; type: unknown }): void
    types: { tlv: Record<'cstring' | 'string' | 'buffer' | 'int8' | 'int16' | 'int32', unknown> }
  }
  export default smpp
}
