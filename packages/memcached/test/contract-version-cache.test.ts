// Trusting namespace versions for a while must keep the contract too (a storage sees its own clears at once):
// the contract through fromMemcacheClient with versionCacheMs 50, against a memcached this file starts.
import { runMemcachedContract } from './memcached-contract'
import { portFromEnv } from './memcached-server'

runMemcachedContract({
  adapter: 'memcache-client',
  port: portFromEnv('MEMCACHED_CONTRACT_VERSION_CACHE_PORT', 11322),
  versionCacheMs: 50,
})
