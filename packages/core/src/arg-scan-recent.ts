/*
 * The memory of the by-value hit path; the argument scan itself is in arg-scan.ts. Kept apart from the scan, which
 * this table only reads (the last scan's token values and count) and calls (`matchesKey`, in arg-scan-match.ts).
 *
 * A table of recent hits (`RecentHits`) keeps, per hash, the tokens of argument lists whose key `matchesKey`
 * confirmed, with that key and the memory storage slot of its entry. Equal tokens mean equal text, so a later scan
 * whose tokens equal remembered ones has the remembered key: the hit path compares tokens (numbers and short
 * strings) instead of building, hashing and comparing a key string. The hash only picks the candidate; a hash
 * collision costs a lookup, never a wrong result.
 *
 * The table grows while remembered lists keep displacing each other, up to a bound. A function whose scans cost
 * more than they save (more hot argument lists than the table serves well, mostly new arguments, or arguments the
 * scan does not handle) stops scanning for a while, so it pays what the key string costs and little more.
 */
import { state, values } from './arg-scan'
import { matchesKey } from './arg-scan-match'

// The table starts with FIRST_SETS sets of two and is judged every WINDOW scans, but for the window after it was
// made or grown (it fills up then):
// - It grows 4x, up to MAX_SETS, while more than 1 in 16 scans ends in remembering a list: lists keep displacing
//   each other.
// - Scanning pauses while scans cost more than they save: while fewer than 3 in 5 scans find their list, or fewer
//   still when lists keep being remembered (a scan that ends in remembering also built the key string and matched
//   it, about 10 hits' worth). These are the break-even points measured with 8,192 hot lists and with half the
//   calls new arguments. The pause is PAUSE calls, doubled after each window that pauses again, up to MAX_PAUSE.
const FIRST_SETS = 64
const MAX_SETS = 4096
const WINDOW = 1024
const PAUSE = 65_536
const MAX_PAUSE = 1 << 22

/** Recently hit argument lists of one cached function, in sets of two per hash; see the top of this file. */
export interface RecentHits {
  hashes: Int32Array
  /** The memory storage slot of each remembered entry (0: none). */
  slots: Int32Array
  /** The key each remembered entry had; the slot must still hold it. */
  keys: (string | undefined)[]
  /** The token values of each remembered argument list. */
  tokens: (unknown[] | undefined)[]
  /** Scans in the current window, how many of them found their list, and how many lists were remembered. */
  scans: number
  found: number
  remembered: number
  /** Calls left before scanning resumes. */
  paused: number
  /** The length of the next pause. */
  pause: number
  /** False for the window after the table was made or grown. */
  settled: boolean
}

/** Puts an entry in the first place of its set; the one there moves to the second, the second is dropped. */
function put(
  recent: RecentHits,
  h: number,
  slot: number,
  key: string | undefined,
  tokens: unknown[] | undefined,
): void {
  const { hashes, slots, keys } = recent
  const i = (h & ((hashes.length >> 1) - 1)) << 1
  hashes[i + 1] = hashes[i] as number
  slots[i + 1] = slots[i] as number
  keys[i + 1] = keys[i]
  recent.tokens[i + 1] = recent.tokens[i]
  hashes[i] = h
  slots[i] = slot
  keys[i] = key
  recent.tokens[i] = tokens
}

/** Replaces the table by one with `sets` sets, keeping what fits of the old one. */
function resize(recent: RecentHits, sets: number): void {
  const { hashes, slots, keys, tokens } = recent
  recent.hashes = new Int32Array(sets * 2)
  recent.slots = new Int32Array(sets * 2)
  recent.keys = new Array(sets * 2).fill(undefined)
  recent.tokens = new Array(sets * 2).fill(undefined)
  // Second places first, so that first places stay first where two meet again.
  for (let i = hashes.length - 1; i >= 0; i--) {
    if (tokens[i] !== undefined) put(recent, hashes[i] as number, slots[i] as number, keys[i], tokens[i])
  }
}

/** An empty table of recent hits. */
export function createRecentHits(): RecentHits {
  const recent: RecentHits = {
    hashes: new Int32Array(0),
    slots: new Int32Array(0),
    keys: [],
    tokens: [],
    scans: 0,
    found: 0,
    remembered: 0,
    paused: 0,
    pause: PAUSE,
    settled: false,
  }
  resize(recent, FIRST_SETS)
  return recent
}

/** Whether this call should scan its arguments (false while scanning is paused). */
export function shouldScan(recent: RecentHits): boolean {
  if (recent.paused === 0) return true
  recent.paused--
  return false
}

/** Counts a scan (or an attempt the scan gave up on) and whether it found its list; resizes or pauses. */
export function countScan(recent: RecentHits, found: boolean): void {
  if (found) recent.found++
  if (++recent.scans < WINDOW) return
  const { scans, remembered } = recent
  const sets = recent.hashes.length >> 1
  if (!recent.settled) recent.settled = true
  else if (remembered * 16 > scans && sets < MAX_SETS) {
    resize(recent, sets * 4)
    recent.settled = false
  } else if (2 * recent.found < 3 * (scans - recent.found) + 20 * remembered) {
    recent.paused = recent.pause
    recent.pause = Math.min(recent.pause * 2, MAX_PAUSE)
  } else recent.pause = PAUSE
  recent.scans = 0
  recent.found = 0
  recent.remembered = 0
}

/** Whether the last scan's tokens equal remembered ones; numbers as the encoder tells them apart (`-0` from `0`). */
function sameTokens(remembered: unknown[] | undefined): boolean {
  const n = state.count
  if (remembered === undefined || remembered.length !== n) return false
  for (let i = 0; i < n; i++) {
    const a = remembered[i]
    const b = values[i]
    if (a === b) {
      if (a === 0 && 1 / (a as number) !== 1 / (b as number)) return false
    } else if (!(Number.isNaN(a) && Number.isNaN(b))) return false
  }
  return true
}

/** The index in `recent` of the entry remembered for arguments with the last scan's tokens, or -1. */
export function findRecent(recent: RecentHits, h: number): number {
  const { hashes, tokens } = recent
  const i = (h & ((hashes.length >> 1) - 1)) << 1
  if (hashes[i] === h && sameTokens(tokens[i])) return i
  if (hashes[i + 1] === h && sameTokens(tokens[i + 1])) return i + 1
  return -1
}

/**
 * Remembers that the last scan's arguments (hash `h`) have `key`, stored in `slot`, provided the scan really gives
 * `key` (user code such as a getter may run between the scan and the key encoder).
 */
export function rememberRecent(recent: RecentHits, h: number, slot: number, key: string, start: string): void {
  if (slot === 0 || !matchesKey(key, start)) return
  recent.remembered++
  // The list that `put` drops is reused: a table that keeps replacing its lists would otherwise fill the old
  // generation with them (they live long enough to be promoted), and collecting that costs more than the misses.
  const n = state.count
  const i = ((h & ((recent.hashes.length >> 1) - 1)) << 1) + 1
  const dropped = recent.tokens[i]
  recent.tokens[i] = undefined
  const kept = dropped ?? new Array<unknown>(n)
  kept.length = n
  for (let j = 0; j < n; j++) kept[j] = values[j]
  put(recent, h, slot, key, kept)
}
