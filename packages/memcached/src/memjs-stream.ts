/**
 * A guard for memjs 1.x's reply stream. memjs keeps one response buffer per server, across its connections: when
 * a connection ends in the middle of a reply (memjs's own request timeout fires while a large value is arriving,
 * the server or a proxy drops the connection), the part received stays in that buffer and the next connection's
 * replies are appended to it. They are then read as the rest of the cut reply and, after it, from the middle of
 * replies: every command on that server times out from then on, with the server healthy, until the process
 * restarts (the cache never works again, and core's circuit breaker never stays closed). A connection memjs gave
 * up on with a timeout is only half-closed, so the rest of the cut reply can also arrive after the next connection
 * opened, into the same buffer.
 *
 * {@link guardMemjsServer} makes each new connection start with an empty buffer, empties it when memjs fails a
 * server's requests (`error`), and drops the bytes of a connection memjs has replaced or failed. It wraps three
 * members of the memjs `Server` object (`sock`, `error`, and each new socket's `emit`), once per server, and only
 * when they have memjs 1.x's shape; otherwise it leaves the server alone.
 */

/** The members of a memjs 1.x `Server` the guard relies on. */
interface MemjsServerInternals {
  responseBuffer: Buffer
  _socket?: unknown
  sock(this: MemjsServerInternals, sasl: boolean, go: (socket: unknown) => void): unknown
  error(this: MemjsServerInternals, error: unknown): unknown
}

interface Emitter {
  emit(event: string | symbol, ...args: unknown[]): boolean
}

const guarded = new WeakSet<object>()

const isEmitter = (value: unknown): value is Emitter =>
  typeof value === 'object' && value !== null && typeof (value as Emitter).emit === 'function'

/** Guards one memjs server (an element of `client.servers`); a no-op for anything else, or when already guarded. */
export function guardMemjsServer(server: unknown): void {
  const s = server as Partial<MemjsServerInternals> | null
  if (
    typeof s !== 'object' ||
    s === null ||
    guarded.has(s) ||
    typeof s.sock !== 'function' ||
    typeof s.error !== 'function' ||
    !Buffer.isBuffer(s.responseBuffer)
  ) {
    return
  }
  guarded.add(s)
  const target = s as MemjsServerInternals
  const { sock, error } = target
  // The connection memjs reads replies from, and those it has replaced or failed: their bytes are dropped.
  let current: Emitter | undefined
  const retired = new WeakSet<object>()
  const retire = (): void => {
    if (current !== undefined) retired.add(current)
    target.responseBuffer = Buffer.alloc(0)
  }

  target.sock = function (sasl, go) {
    const before = this._socket
    // No socket: memjs opens a new connection, whose replies start at a reply boundary. (memjs also forgets a live
    // socket when an older one's 'close' comes late; that one's requests then time out instead of mixing streams.)
    if (before === undefined || before === null) retire()
    const result = sock.call(this, sasl, go)
    const socket = this._socket
    if (socket !== before && isEmitter(socket)) {
      current = socket
      const emit = socket.emit
      socket.emit = function (event, ...args) {
        if (event === 'data' && retired.has(socket)) return false
        return emit.call(this, event, ...args)
      }
    }
    return result
  }

  target.error = function (failure) {
    // memjs fails every request of the server and drops its connection (a timeout only half-closes it).
    retire()
    return error.call(this, failure)
  }
}
