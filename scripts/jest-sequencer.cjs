// Jest orders the test files it has no timings for by size, largest first; CI always runs on a fresh clone, so it
// never has timings. The files that run the shared storage contract (`test/contract*.test.ts`, and any file that
// calls `runStorageContract(` itself, e.g. redis' standalone.test.ts: 2.8 kB, 16-28 s) are a few lines each but
// take 10-40 s of real waiting on TTLs, so they ran last: the three memcached ones, about 38 s each, made the
// run's last minute, and standalone.test.ts still started at 80% of a run once they had a jest of their own. They
// go first; everything else keeps jest's own order (its timings, when it has them).
const { readFileSync } = require('node:fs')
const Sequencer = require('@jest/test-sequencer').default

const CONTRACT = /[\\/]test[\\/]contract[^\\/]*\.test\.ts$/

const runsContract = (path) => CONTRACT.test(path) || readFileSync(path, 'utf8').includes('runStorageContract(')

class ContractsFirst extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests)
    const first = (test) => test.duration == null && runsContract(test.path)
    return [...sorted.filter(first), ...sorted.filter((test) => !first(test))]
  }
}

module.exports = ContractsFirst
