import { connect, createServer, type Server, type Socket } from 'node:net'

/**
 * A loopback TCP proxy in front of Redis that tallies the commands clients send through it. Counting at the
 * wire works the same for every client library (node-redis, ioredis) and sees only this proxy's connections,
 * unlike `INFO commandstats` on a server others share. Used for the untimed round-trip pass only.
 */
export interface RespCounter {
  readonly url: string
  /** Commands seen since the last reset, by name (upper case). */
  counts(): Map<string, number>
  reset(): void
  close(): Promise<void>
}

export async function startRespCounter(target: URL): Promise<RespCounter> {
  const counts = new Map<string, number>()
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 6379), target.hostname)
    sockets.add(client).add(upstream)
    let pending: Buffer = Buffer.alloc(0)
    client.on('data', (chunk: Buffer) => {
      // The casts bridge @types/node 20.9's Buffer and TS 5.9's generic Uint8Array; the values are Buffers.
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk] as unknown as Uint8Array[])
      pending = parseCommands(pending, (name) => counts.set(name, (counts.get(name) ?? 0) + 1))
      upstream.write(chunk as unknown as Uint8Array)
    })
    upstream.pipe(client)
    const end = (): void => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('close', end).on('error', end)
    upstream.on('close', end).on('error', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const url = new URL(target.href)
  url.hostname = '127.0.0.1'
  url.port = String(port)
  return {
    url: url.href,
    counts: () => new Map(counts),
    reset: () => counts.clear(),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

/** Parses complete RESP arrays of bulk strings (how clients send commands); returns the unparsed rest. */
function parseCommands(buf: Buffer, onCommand: (name: string) => void): Buffer {
  let pos = 0
  for (;;) {
    const start = pos
    if (pos >= buf.length) break
    if (buf[pos] !== 0x2a /* '*' */) {
      // Inline command (not used by these clients): count its first word.
      const eol = buf.indexOf('\r\n', pos)
      if (eol < 0) break
      const word = buf.toString('latin1', pos, eol).trim().split(' ')[0]
      if (word) onCommand(word.toUpperCase())
      pos = eol + 2
      continue
    }
    const eol = buf.indexOf('\r\n', pos)
    if (eol < 0) break
    const count = Number(buf.toString('latin1', pos + 1, eol))
    pos = eol + 2
    let name: string | undefined
    let complete = true
    for (let i = 0; i < count; i++) {
      const lenEnd = buf.indexOf('\r\n', pos)
      if (lenEnd < 0) {
        complete = false
        break
      }
      const len = Number(buf.toString('latin1', pos + 1, lenEnd))
      const dataStart = lenEnd + 2
      if (dataStart + len + 2 > buf.length) {
        complete = false
        break
      }
      if (i === 0) name = buf.toString('latin1', dataStart, dataStart + len).toUpperCase()
      pos = dataStart + len + 2
    }
    if (!complete) {
      pos = start
      break
    }
    if (name) onCommand(name)
  }
  return pos === 0 ? buf : buf.subarray(pos)
}
