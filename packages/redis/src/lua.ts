// The Lua scripts behind the lease members and `delete`: each one round trip and atomic on the server. Sent as
// EVALSHA; a server that doesn't know the script (restarted, failed over, SCRIPT FLUSH, another cluster node)
// answers NOSCRIPT, and the same call is sent once as EVAL, which also caches it there for the next EVALSHA.
import { createHash } from 'node:crypto'
import { messageOf } from '@memokit/core/backend'
import type { RedisCommandClient, RedisKey } from './client'

/** A script and its SHA1, the name EVALSHA calls it by. */
export interface Script {
  readonly text: string
  readonly sha: string
}

function script(text: string): Script {
  return { text, sha: createHash('sha1').update(text).digest('hex') }
}

/** KEYS[1] lease; ARGV[1] token. Deletes the lease while it holds the token: 1, else 0. */
export const RELEASE = script(
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
)

/** KEYS[1] lease; ARGV[1] token, ARGV[2] ttl in whole ms. Restarts its expiry while it holds the token: 1, else 0. */
export const EXTEND = script(
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0",
)

/**
 * KEYS[1] entry, KEYS[2] lease; ARGV[1] token, ARGV[2] payload, ARGV[3] ttl in whole ms or '' for none. While the
 * lease holds the token, writes the entry as `set` does (SET, with PX when there is a ttl: a SET without PX also
 * drops an older expiry) and deletes the lease: 1; else 0 and nothing written.
 */
export const SET_IF_LEASED = script(
  [
    "if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end",
    "if ARGV[3] == '' then redis.call('SET', KEYS[1], ARGV[2]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end",
    "redis.call('DEL', KEYS[2])",
    'return 1',
  ].join('\n'),
)

/**
 * KEYS[1] entry, KEYS[2] lease. Unlinks both at once, so no fenced write lands between the two, and answers how many
 * entries it removed (0 or 1): `UNLINK entry lease` would count the lease too.
 */
export const DELETE = script("local n = redis.call('UNLINK', KEYS[1]) redis.call('UNLINK', KEYS[2]) return n")

/** Runs `s` with `keys` (one hash slot on a Cluster) and `args`: EVALSHA, and EVAL once on NOSCRIPT. */
export async function evalScript(
  client: RedisCommandClient,
  s: Script,
  keys: RedisKey[],
  args: string[],
): Promise<unknown> {
  const options = { keys, arguments: args }
  try {
    return await client.evalSha(s.sha, options)
  } catch (error) {
    if (!messageOf(error).startsWith('NOSCRIPT')) throw error
    return client.eval(s.text, options)
  }
}
