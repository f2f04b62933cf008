// The storage contract through fromMemcacheClient, against a memcached this file starts (and a second one).
import { runMemcachedContract } from './memcached-contract'
import { portFromEnv } from './memcached-server'

runMemcachedContract({
  adapter: 'memcache-client',
  port: portFromEnv('MEMCACHED_CONTRACT_MC_PORT', 11320),
  otherPort: portFromEnv('MEMCACHED_CONTRACT_MC_OTHER_PORT', 11321),
})
