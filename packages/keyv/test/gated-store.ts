// A Keyv store adapter over a shared Map that can hold chosen calls until released: it only adds delays (a fault
// of timing), so tests can replay the interleavings of two processes deterministically. Each "process" gets its
// own adapter and Keyv over the same Map, as two servers over one Redis.

type Op = 'get' | 'set' | 'delete'

interface Hold {
  readonly op: Op
  readonly key: (key: string) => boolean
  /** Which matching call to hold: 1 = the first. */
  nth: number
  readonly reached: () => void
  readonly gate: Promise<void>
}

/** A store adapter Keyv accepts, with {@link GatedStore.hold}. */
export interface GatedStore {
  readonly opts: Record<string, never>
  get(key: string): Promise<unknown>
  set(key: string, value: unknown): Promise<void>
  delete(key: string): Promise<boolean>
  clear(): Promise<void>
  on(): void
  /** Holds the `nth` call of `op` on a key `key` accepts; `reached` resolves when it is held. */
  hold(op: Op, key: (key: string) => boolean, nth?: number): { reached: Promise<void>; release: () => void }
}

export function gatedStore(map: Map<string, unknown>): GatedStore {
  const holds: Hold[] = []
  const pass = async (op: Op, key: string): Promise<void> => {
    for (const hold of holds) {
      if (hold.op !== op || !hold.key(key) || --hold.nth !== 0) continue
      hold.reached()
      await hold.gate
    }
  }
  return {
    opts: {},
    async get(key) {
      await pass('get', key)
      return map.get(key)
    },
    async set(key, value) {
      await pass('set', key)
      map.set(key, value)
    },
    async delete(key) {
      await pass('delete', key)
      return map.delete(key)
    },
    async clear() {
      map.clear()
    },
    on() {},
    hold(op, key, nth = 1) {
      let release!: () => void
      let reached!: () => void
      const gate = new Promise<void>((resolve) => {
        release = resolve
      })
      const reachedPromise = new Promise<void>((resolve) => {
        reached = resolve
      })
      holds.push({ op, key, nth, reached, gate })
      return { reached: reachedPromise, release }
    },
  }
}
