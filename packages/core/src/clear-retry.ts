import type { StorageError } from './errors'
import type { AnyStorage } from './storage'

/**
 * Background retries of failed namespace clears. A clear after a write that fails (Redis unreachable for a moment)
 * would leave every replica serving the old entries until their TTL; instead it is retried with backoff until it
 * succeeds, at most `RETRY_DELAYS_MS.length` times (about two minutes in all), one retry chain per place and
 * namespace. Each failure is reported by the caller's reporter.
 *
 * Every clear takes a ticket when it is issued (`clearTicket`), and only a clear issued after a failed one stands
 * for it: one issued earlier may have run on the server before the entries that the failed clear had to remove
 * were written. So a retry already on its way when another clear fails, or a user's clear issued before that
 * failure, does not end the chain when it succeeds.
 */
export const RETRY_DELAYS_MS: readonly number[] = [250, 500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]

interface Chain {
  readonly id: string
  readonly clear: () => unknown
  /** Reports a failed attempt (the reporter of the clear that started the chain). */
  readonly failed: (error: unknown) => StorageError | undefined
  /** The next attempt's timer, while one waits (not while an attempt runs). */
  timer: ReturnType<typeof setTimeout> | undefined
  /** Index in RETRY_DELAYS_MS of the next attempt's delay. */
  next: number
  /** The ticket of the latest failed clear this chain stands for. */
  need: number
}

const chains = new Map<string, Chain>()
const objectIds = new WeakMap<AnyStorage, number>()
let nextObjectId = 0
let ticketsIssued = 0

/** A ticket for a clear about to be issued: tickets grow in the order clears are issued. */
export const clearTicket = (): number => ++ticketsIssued

const placeOf = (storage: AnyStorage): string => {
  if (typeof storage.scope === 'string') return `s${storage.scope}`
  let id = objectIds.get(storage)
  if (id === undefined) {
    id = nextObjectId++
    objectIds.set(storage, id)
  }
  return `o${id}`
}
const chainKey = (storage: AnyStorage, namespace: string): string => JSON.stringify([placeOf(storage), namespace])

/**
 * Retries `clear(namespace)` in the background, the clear issued with `ticket` having failed. A chain already under
 * way for the namespace now stands for this failure too, with its full number of attempts again.
 */
export function retryClear(
  storage: AnyStorage,
  namespace: string,
  ticket: number,
  clear: () => unknown,
  failed: (error: unknown) => StorageError | undefined,
): void {
  const id = chainKey(storage, namespace)
  const running = chains.get(id)
  if (running === undefined) {
    const chain: Chain = { id, clear, failed, timer: undefined, next: 0, need: ticket }
    chains.set(id, chain)
    schedule(chain)
    return
  }
  running.need = Math.max(running.need, ticket)
  running.next = 0
  // Waiting out a long delay: the new failure gets its first retry after the first delay. (While an attempt runs,
  // its outcome schedules the next one.)
  if (running.timer !== undefined) {
    clearTimeout(running.timer)
    schedule(running)
  }
}

function schedule(chain: Chain): void {
  const delay = RETRY_DELAYS_MS[chain.next++]
  chain.timer = undefined
  if (delay === undefined) {
    if (chains.get(chain.id) === chain) chains.delete(chain.id)
    return
  }
  chain.timer = setTimeout(() => void attempt(chain), delay)
  // A pending retry must not keep a process alive that has nothing else to do.
  chain.timer.unref?.()
}

async function attempt(chain: Chain): Promise<void> {
  chain.timer = undefined
  if (chains.get(chain.id) !== chain) return
  const issued = clearTicket()
  try {
    await chain.clear()
  } catch (error) {
    chain.failed(error)
    if (chains.get(chain.id) === chain) schedule(chain)
    return
  }
  if (chains.get(chain.id) !== chain) return
  // A clear that failed while this one was on its way needs one issued after it.
  if (issued > chain.need) chains.delete(chain.id)
  else schedule(chain)
}

/** A clear of `namespace` issued with `ticket` succeeded: it covers the failed clears issued before it. */
export function clearSucceeded(storage: AnyStorage, namespace: string, ticket: number): void {
  if (chains.size === 0) return
  const id = chainKey(storage, namespace)
  const chain = chains.get(id)
  if (chain === undefined || ticket <= chain.need) return
  clearTimeout(chain.timer)
  chains.delete(id)
}
