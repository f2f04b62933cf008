// The storage contract through fromMemjs, against a memcached this file starts (and a second one: "another place").
import { runMemcachedContract } from './memcached-contract'
import { portFromEnv } from './memcached-server'

runMemcachedContract({
  adapter: 'memjs',
  port: portFromEnv('MEMCACHED_CONTRACT_MEMJS_PORT', 11318),
  otherPort: portFromEnv('MEMCACHED_CONTRACT_MEMJS_OTHER_PORT', 11319),
})
