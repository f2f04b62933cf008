// Jest orders the test files it has no timings for by size, largest first; CI always runs on a fresh clone, so it
// never has timings. The files that run the shared storage contract (`test/contract*.test.ts`) are a few lines each
// but take 10-40 s of real waiting on TTLs, so they ran last: the three memcached ones, about 38 s each, made the
// run's last minute. They go first; everything else keeps jest's own order (its timings, when it has them).
const Sequencer = require('@jest/test-sequencer').default

const CONTRACT = /[\\/]test[\\/]contract[^\\/]*\.test\.ts$/

class ContractsFirst extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests)
    const first = (test) => test.duration == null && CONTRACT.test(test.path)
    return [...sorted.filter(first), ...sorted.filter((test) => !first(test))]
  }
}

module.exports = ContractsFirst
