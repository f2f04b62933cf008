import { StorageError } from './errors'
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
 *
 * A closed storage can't clear: `storageClosed` takes it out of its chains. Two storage objects over one place
 * (same `scope`) share a chain, and each failed clear makes its storage object a member of it; the attempts run on
 * the first member still open. A chain ends when its last member closes, reported once (see `notRetried`); while
 * another member is open, it carries on.
 */
export const RETRY_DELAYS_MS: readonly number[] = [250, 500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]

/** A storage object whose failed clear a chain stands for, with how to retry it and whom to tell. */
interface Member {
  readonly storage: AnyStorage
  readonly clear: () => unknown
  /** Reports a failed attempt (the reporter of this storage's first clear that joined the chain). */
  readonly failed: (error: unknown) => StorageError | undefined
}

interface Chain {
  readonly id: string
  readonly namespace: string
  /** In the order they joined; closed ones stay listed (a chain has a handful at most) but never run an attempt. */
  readonly members: Member[]
  /** The next attempt's timer, while one waits. */
  timer: ReturnType<typeof setTimeout> | undefined
  /** True while an attempt runs: its outcome decides what comes next. */
  attempting: boolean
  /** Index in RETRY_DELAYS_MS of the next attempt's delay. */
  next: number
  /** The ticket of the latest failed clear this chain stands for. */
  need: number
}

const chains = new Map<string, Chain>()
const objectIds = new WeakMap<AnyStorage, number>()
/** Each closed storage object, with the last ticket issued when it closed. */
const closedAt = new WeakMap<AnyStorage, number>()
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
const openMember = (chain: Chain): Member | undefined => chain.members.find((m) => !closedAt.has(m.storage))

/** What the user is told instead of the retries a close ended: the clear may never have happened. */
function notRetried(storage: AnyStorage, namespace: string): StorageError {
  return new StorageError(
    `${storage.name} storage: the failed clear of namespace '${namespace}' was not retried because the storage was closed; entries of that namespace may remain until their TTL`,
    { storage: storage.name, op: 'clear' },
  )
}

function abandon(chain: Chain, member: Member): void {
  clearTimeout(chain.timer)
  chain.timer = undefined
  if (chains.get(chain.id) === chain) chains.delete(chain.id)
  member.failed(notRetried(member.storage, chain.namespace))
}

/**
 * Retries `clear(namespace)` in the background, the clear issued with `ticket` having failed. A chain already under
 * way for the namespace now stands for this failure too, with its full number of attempts again. A storage already
 * closed starts no retry: its failure is reported as not retried, unless the clear was issued after the close (its
 * own failure says the storage is closed).
 */
export function retryClear(
  storage: AnyStorage,
  namespace: string,
  ticket: number,
  clear: () => unknown,
  failed: (error: unknown) => StorageError | undefined,
): void {
  const closed = closedAt.get(storage)
  if (closed !== undefined && ticket > closed) return
  const id = chainKey(storage, namespace)
  let chain = chains.get(id)
  if (chain === undefined) {
    if (closed !== undefined) {
      failed(notRetried(storage, namespace))
      return
    }
    chain = { id, namespace, members: [], timer: undefined, attempting: false, next: 0, need: ticket }
    chains.set(id, chain)
  } else {
    chain.need = Math.max(chain.need, ticket)
    chain.next = 0
  }
  // A closed storage's failure is still covered by the retries of another storage object over the same place.
  if (closed === undefined && !chain.members.some((m) => m.storage === storage)) {
    chain.members.push({ storage, clear, failed })
  }
  // New, or waiting out a long delay: the new failure gets its first retry after the first delay. (While an attempt
  // runs, its outcome schedules the next one.)
  if (!chain.attempting) {
    clearTimeout(chain.timer)
    schedule(chain)
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
  const member = openMember(chain)
  if (chains.get(chain.id) !== chain || member === undefined) return
  const issued = clearTicket()
  chain.attempting = true
  let succeeded = true
  try {
    await member.clear()
  } catch (error) {
    succeeded = false
    member.failed(error)
  } finally {
    chain.attempting = false
  }
  if (chains.get(chain.id) !== chain) return
  // A clear that failed while this one was on its way needs one issued after it.
  if (succeeded && issued > chain.need) chains.delete(chain.id)
  // Every member closed while the attempt ran: it was the last one.
  else if (openMember(chain) === undefined) abandon(chain, member)
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

/**
 * Tells core that `storage` is closed; a backend's `close()` calls it first, before waiting for its operations.
 * Every background clear retry that only this storage object still stands for ends: its timer is cleared, an
 * attempt already running schedules no other, and each ended chain reports once, through the reporter (`onError`)
 * of the `cacheClear` whose failed clear on this storage it stood for, a StorageError (op `'clear'`) saying the clear was not retried and the
 * namespace's entries may remain until their TTL. A chain shared with another, still open storage object over the
 * same place (same `scope`) carries on there. A clear of this storage that fails later starts no retry. Calling it
 * again does nothing.
 */
export function storageClosed(storage: AnyStorage): void {
  if (closedAt.has(storage)) return
  closedAt.set(storage, ticketsIssued)
  if (chains.size === 0) return
  for (const chain of [...chains.values()]) {
    const member = chain.members.find((m) => m.storage === storage)
    if (member === undefined || chain.attempting || openMember(chain) !== undefined) continue
    abandon(chain, member)
  }
}
