// Redis Cluster's key -> slot function (CRC16/XMODEM of the key's UTF-8 bytes, or of its first non-empty `{...}`
// hash tag, mod 16384), as the cluster spec defines it and node-redis and ioredis compute it (cluster-key-slot).
// Computed here rather than imported: it is 30 lines, and a dependency pinned in two client libraries' ranges
// would be one more version to keep in step. Checked against the server's CLUSTER KEYSLOT in test/get-many.

const SLOTS = 16384

const TABLE = (() => {
  const table = new Uint16Array(256)
  for (let i = 0; i < 256; i++) {
    let crc = i << 8
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
    table[i] = crc
  }
  return table
})()

/** CRC16/XMODEM of `bytes[start, end)`, continuing from the register value `crc` (0 to start afresh). */
export function crc16(bytes: Buffer, start: number, end: number, crc = 0): number {
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ (bytes[i] ?? 0)) & 0xff] ?? 0)
  return crc
}

/**
 * Where the hash tag of a key lies, `[start, end)` of its bytes, as the server finds it: after the first `{`, up to
 * the next `}`, if that holds at least one byte; `undefined` when the whole key is hashed.
 */
export function hashTag(bytes: Buffer): readonly [number, number] | undefined {
  // '{' and '}' are single bytes in UTF-8, so searching the bytes finds the same tag as the server does.
  const open = bytes.indexOf(0x7b)
  if (open === -1) return undefined
  const close = bytes.indexOf(0x7d, open + 1)
  return close > open + 1 ? [open + 1, close] : undefined
}

/** The cluster slot (0-16383) of a key as sent to the server (with any client keyPrefix). */
export function keySlot(key: string | Buffer): number {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key
  const [start, end] = hashTag(bytes) ?? [0, bytes.length]
  return crc16(bytes, start, end) % SLOTS
}

/**
 * The positions of `keys` grouped by slot, in first-seen order: one MGET per group never spans two slots
 * (CROSSSLOT). `prefix` is the client's keyPrefix, which the client adds before the key reaches the server.
 */
export function groupBySlot(keys: readonly string[], prefix: string): number[][] {
  const groups = new Map<number, number[]>()
  for (let i = 0; i < keys.length; i++) {
    const slot = keySlot(prefix + keys[i])
    const group = groups.get(slot)
    if (group === undefined) groups.set(slot, [i])
    else group.push(i)
  }
  return [...groups.values()]
}
