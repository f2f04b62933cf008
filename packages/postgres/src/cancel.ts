/**
 * Ending a statement on the server: PostgreSQL's CancelRequest, sent on a connection of its own (the statement's
 * connection is busy with it), as psql's Ctrl-C does. It takes no pool connection. The server answers on the
 * statement's own connection (an error, or the result when the statement had already ended), and it cancels what that
 * connection runs when the request arrives, not the statement it was sent for.
 */
import { connect } from 'node:net'

/** The fields of a node-postgres `Client` a cancel request needs (pg 8 sets them once connected). */
export interface PgCancelTarget {
  readonly processID?: unknown
  readonly secretKey?: unknown
  readonly host?: unknown
  readonly port?: unknown
}

// The protocol's code for a cancel request (1234 in the high 16 bits, 5678 in the low).
const CANCEL_REQUEST_CODE = 80_877_102

/**
 * Asks the server to cancel what `client`'s connection runs. Resolves `true` once the server closed the request's
 * socket, which it does after acting on it; `false` when that is not known within `timeoutMs` (no answer, refused,
 * reset), and then the request may still act later. `undefined`, with nothing sent, when the client lacks what a
 * request takes (another driver, or a pg whose keys are not 32-bit numbers).
 */
export function cancelOnServer(client: PgCancelTarget, timeoutMs: number): Promise<boolean> | undefined {
  const { processID, secretKey, host, port } = client
  if (!Number.isInteger(processID) || !Number.isInteger(secretKey) || !Number.isInteger(port)) return undefined
  const message = new Uint8Array(16)
  const fields = new DataView(message.buffer)
  fields.setInt32(0, 16)
  fields.setInt32(4, CANCEL_REQUEST_CODE)
  fields.setInt32(8, processID as number)
  fields.setInt32(12, secretKey as number)
  const socket =
    typeof host === 'string' && host.startsWith('/')
      ? connect(`${host}/.s.PGSQL.${port}`)
      : connect(port as number, typeof host === 'string' && host !== '' ? host : 'localhost')
  let answered = false
  socket.on('error', () => undefined)
  socket.on('end', () => {
    answered = true
  })
  socket.setTimeout(timeoutMs, () => socket.destroy())
  socket.unref()
  socket.resume()
  socket.end(message)
  return new Promise((resolve) => socket.on('close', (hadError) => resolve(answered && !hadError)))
}
