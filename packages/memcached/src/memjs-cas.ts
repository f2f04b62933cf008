/**
 * `gets` and `cas` for memjs, which has no method for either: memcached's binary protocol (which memjs speaks)
 * returns the CAS unique with every GET and takes one on SET. The requests go through memjs's public `perform`, so
 * they use its connection to the key's server, its timeout and its retries like every other memjs command.
 */

/** The part of a memjs `Client` these commands use (public members of memjs 1.x). */
export interface MemjsPerformLike {
  /** The sequence number of the last request; `incrSeq()` moves it on. */
  readonly seq: number
  incrSeq(): void
  perform(
    key: string,
    request: Buffer,
    seq: number,
    callback: (error: Error | null, response?: MemjsResponseLike | null) => void,
  ): void
}

/** A binary-protocol response as memjs hands it to `perform`'s callback. */
export interface MemjsResponseLike {
  readonly header: { readonly status?: number; readonly cas?: Buffer; readonly opcode?: number }
  readonly val: Buffer
}

const MAGIC_REQUEST = 0x80
const GET = 0x00
const SET = 0x01
const HEADER_BYTES = 24
const CAS_OFFSET = 16
// Response statuses of the binary protocol.
const OK = 0
const KEY_NOT_FOUND = 1
const KEY_EXISTS = 2
const NOT_STORED = 5
const EMPTY = Buffer.alloc(0)

function request(seq: number, opcode: number, key: string, extras: Buffer, value: Buffer, cas?: Buffer): Buffer {
  const keyBytes = Buffer.from(key, 'utf8')
  const buf = Buffer.alloc(HEADER_BYTES + extras.length + keyBytes.length + value.length)
  buf.writeUInt8(MAGIC_REQUEST, 0)
  buf.writeUInt8(opcode, 1)
  buf.writeUInt16BE(keyBytes.length, 2)
  buf.writeUInt8(extras.length, 4)
  buf.writeUInt32BE(extras.length + keyBytes.length + value.length, 8)
  buf.writeUInt32BE(seq, 12)
  if (cas !== undefined) buf.set(cas, CAS_OFFSET)
  buf.set(extras, HEADER_BYTES)
  buf.set(keyBytes, HEADER_BYTES + extras.length)
  buf.set(value, HEADER_BYTES + extras.length + keyBytes.length)
  return buf
}

function send(client: MemjsPerformLike, key: string, build: (seq: number) => Buffer): Promise<MemjsResponseLike> {
  return new Promise((resolve, reject) => {
    client.incrSeq()
    const seq = client.seq
    client.perform(key, build(seq), seq, (error, response) => {
      if (error !== null && error !== undefined) reject(error)
      else if (response === null || response === undefined) reject(new Error('memjs: no response'))
      else resolve(response)
    })
  })
}

/** `gets`: the value and its CAS unique (16 hex digits), or `undefined` when the key is absent. */
export async function memjsGets(
  client: MemjsPerformLike,
  key: string,
): Promise<{ value: Buffer; cas: string } | undefined> {
  const response = await send(client, key, (seq) => request(seq, GET, key, EMPTY, EMPTY))
  const { status, cas } = response.header
  if (status === KEY_NOT_FOUND) return undefined
  if (status !== OK || cas === undefined) throw new Error(`memjs gets: the server answered status ${String(status)}`)
  return { value: response.val, cas: cas.toString('hex') }
}

/** `cas`: a SET carrying the CAS unique from {@link memjsGets}; `false` when the key changed or is gone. */
export async function memjsCas(
  client: MemjsPerformLike,
  key: string,
  value: string,
  exptime: number,
  cas: string,
): Promise<boolean> {
  if (!/^[0-9a-f]{16}$/.test(cas)) throw new Error(`memjs cas: ${JSON.stringify(cas)} is not a CAS unique from gets`)
  // Extras: 4 bytes of flags (0, as memjs writes them), 4 bytes of exptime.
  const extras = Buffer.alloc(8)
  extras.writeUInt32BE(exptime, 4)
  const body = Buffer.from(value, 'utf8')
  const response = await send(client, key, (seq) => request(seq, SET, key, extras, body, Buffer.from(cas, 'hex')))
  const { status } = response.header
  if (status === OK) return true
  if (status === KEY_NOT_FOUND || status === KEY_EXISTS || status === NOT_STORED) return false
  throw new Error(`memjs cas: the server answered status ${String(status)}`)
}
