/**
 * HTTP as bytes on a socket, for the tests of what a parser or a timeout does with a request no
 * client library would send.
 * @module
 */
import { connect } from 'node:net'

/**
 * Writes `request` as it is to 127.0.0.1:`port` and reads the whole answer, until the server
 * closes the connection.
 *
 * @example
 * const answer = await sendRaw(port, 'GARBAGE\r\n\r\n')
 */
export function sendRaw(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request))
    let answer = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk) => {
      answer += chunk
    })
    socket.on('end', () => resolve(answer))
    socket.on('error', reject)
  })
}
