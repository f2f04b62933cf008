// Two service replicas share one Redis cache; a write on one clears it for both; a dead Redis fails open.
import { createServer } from 'node:net'
import { cacheClear, cacheValue, type ErrorReport } from '@memokit/core'
import { redisStorage } from '@memokit/redis'

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
// A prefix of its own, so the example never touches anyone else's keys on a shared server.
const prefix = `memokit-example-${process.pid}`
const users = new Map([[42, { id: 42, name: 'Ada' }]])
let dbReads = 0

async function fetchUser(id: number) {
  dbReads++
  await new Promise((resolve) => setTimeout(resolve, 50)) // a database round trip
  return { ...users.get(id), readAt: new Date() }
}
async function renameUser(id: number, name: string) {
  users.set(id, { id, name })
}

// Each "replica" builds its wrappers exactly as a service module would.
function replica() {
  const storage = redisStorage({ url, prefix })
  return {
    storage,
    getUser: cacheValue(fetchUser, { storage, ttl: '5m', namespace: 'users' }),
    renameUser: cacheClear(renameUser, { storage, namespaces: 'users' }),
  }
}

const a = replica()
const b = replica()
try {
  const first = await a.getUser(42)
  const shared = await b.getUser(42)
  console.log(`replica A read ${first.name} from the database; replica B got it from Redis: ${dbReads === 1}`)
  console.log(`cached Date survives the trip: ${shared.readAt instanceof Date}, key ${b.getUser.keyFor(42)}`)

  await a.renameUser(42, 'Grace')
  const fresh = await b.getUser(42)
  console.log(`after A renamed the user, B reads ${fresh.name} (database reads: ${dbReads})`)

  // A Redis nobody listens on: calls still answer (from the database), and onError says why.
  const deadPort = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })
  const reports: ErrorReport[] = []
  const dead = redisStorage({ url: `redis://127.0.0.1:${deadPort}`, prefix, operationTimeoutMs: 200 })
  const getUserDead = cacheValue(fetchUser, { storage: dead, namespace: 'users', onError: (r) => reports.push(r) })
  const started = performance.now()
  const fallback = await getUserDead(42)
  console.log(
    `with Redis down: got ${fallback.name} in ${(performance.now() - started).toFixed(0)} ms; onError told: ${reports[0]?.op} ${reports[0]?.error.code}`,
  )
  await dead.close()
} finally {
  await a.getUser.clear()
  await a.storage.close()
  await b.storage.close()
}
