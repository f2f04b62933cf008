import { ConfigError } from './errors'
import type { Entry, SetOptions, Storage } from './storage'

/** Options of {@link memoryStorage}. */
export interface MemoryStorageOptions {
  /**
   * Most entries kept across all namespaces; the least recently used is evicted past it.
   * A positive integer, or `Infinity` to opt out of the bound knowingly. Default: 10,000.
   */
  readonly maxEntries?: number
}

/** The default bound of {@link memoryStorage}: 10,000 entries. */
export const DEFAULT_MAX_ENTRIES = 10_000

// A node is also the Entry handed to readers, so a hit allocates nothing.
interface Node extends Entry {
  value: unknown
  createdAt: number
  expiresAt: number | undefined
  ns: string
  key: string
  bucket: Map<string, Node>
  prev: Node | undefined
  next: Node | undefined
}

/**
 * The sync in-memory storage: values kept by reference (a hit costs no serialization), TTL expiry checked on
 * read, and LRU eviction past `maxEntries` (default 10,000). Process-local.
 */
export function memoryStorage(options: MemoryStorageOptions = {}): Storage {
  const { maxEntries = DEFAULT_MAX_ENTRIES } = options
  if (!(maxEntries === Number.POSITIVE_INFINITY || (Number.isInteger(maxEntries) && maxEntries > 0))) {
    throw new ConfigError(
      'maxEntries',
      `maxEntries must be a positive integer (or Infinity for no bound), got ${String(maxEntries)}`,
    )
  }
  const namespaces = new Map<string, Map<string, Node>>()
  // Doubly linked list, most recently used at head.
  let head: Node | undefined
  let tail: Node | undefined
  let size = 0

  const unlink = (node: Node): void => {
    if (node.prev) node.prev.next = node.next
    else head = node.next
    if (node.next) node.next.prev = node.prev
    else tail = node.prev
    node.prev = node.next = undefined
  }
  const pushFront = (node: Node): void => {
    node.next = head
    if (head) head.prev = node
    head = node
    if (!tail) tail = node
  }
  const remove = (node: Node): void => {
    unlink(node)
    node.bucket.delete(node.key)
    size--
  }
  const live = (ns: string, key: string): Node | undefined => {
    const node = namespaces.get(ns)?.get(key)
    if (node === undefined) return undefined
    if (node.expiresAt !== undefined && node.expiresAt <= Date.now()) {
      remove(node)
      return undefined
    }
    return node
  }
  const write = (ns: string, key: string, value: unknown, opts: SetOptions | undefined): void => {
    const now = Date.now()
    const expiresAt = opts?.ttl === undefined ? undefined : now + opts.ttl
    let bucket = namespaces.get(ns)
    if (bucket === undefined) {
      bucket = new Map()
      namespaces.set(ns, bucket)
    }
    const existing = bucket.get(key)
    if (existing !== undefined) {
      existing.value = value
      existing.createdAt = now
      existing.expiresAt = expiresAt
      if (existing !== head) {
        unlink(existing)
        pushFront(existing)
      }
      return
    }
    const node: Node = { value, createdAt: now, expiresAt, ns, key, bucket, prev: undefined, next: undefined }
    bucket.set(key, node)
    pushFront(node)
    size++
    if (size > maxEntries && tail) remove(tail)
  }

  return {
    async: false,
    name: 'memory',
    get(ns, key) {
      const node = live(ns, key)
      if (node !== undefined && node !== head) {
        unlink(node)
        pushFront(node)
      }
      return node
    },
    set(ns, key, value, opts) {
      write(ns, key, value, opts)
    },
    add(ns, key, value, opts) {
      if (live(ns, key) !== undefined) return false
      write(ns, key, value, opts)
      return true
    },
    delete(ns, key) {
      const node = live(ns, key)
      if (node === undefined) return false
      remove(node)
      return true
    },
    clear(ns, keyPrefix) {
      const bucket = namespaces.get(ns)
      if (bucket === undefined) return
      if (keyPrefix !== undefined) {
        for (const node of bucket.values()) if (node.key.startsWith(keyPrefix)) remove(node)
        return
      }
      for (const node of bucket.values()) {
        unlink(node)
        size--
      }
      namespaces.delete(ns)
    },
  }
}
