/**
 * The hash of a number table's key: (table id, number) to a bucket. The memory storage chains the slots of all
 * number tables through one bucket array of typed integers, instead of a Map per table: a Map entry costs about
 * 37 bytes at 200,000 entries (three 8-byte words, its share of the buckets, and growth by doubling), a bucket
 * and a chain link 4 + about 5 (bench S6).
 */

const bits = new Float64Array(1)
const halves = new Int32Array(bits.buffer)

/** Fibonacci hashing of `n` mixed with the table id, to `2 ** (32 - shift)` buckets. -0 never arrives here. */
export function hashNumber(id: number, n: number, shift: number): number {
  let h: number
  if ((n | 0) === n) h = n
  else if (Number.isNaN(n)) h = 0x7ff80000
  else {
    bits[0] = n
    h = (halves[0] as number) ^ (halves[1] as number)
  }
  return Math.imul(h ^ Math.imul(id, 0x27d4eb2f), 0x9e3779b1) >>> shift
}

/** The bucket count for `capacity` slots (a power of two, at least the capacity) as a shift for `hashNumber`. */
export function bucketShift(capacity: number): number {
  return Math.max(1, Math.clz32(capacity))
}
