// Runs the MongoDB wire-protocol stand-in (CongoDB) as its own process: it ships ESM only, which jest's
// CommonJS runtime can't import, and a separate process lets tests freeze it (SIGSTOP) to act as a hung server.
// Usage: node congo-server.mjs <port>; prints "ready <port>" once it accepts connections; SIGTERM stops it.
import { CongoServer } from '@push.rocks/smartmongo/dist_ts/congodb/index.js'

const port = Number(process.argv[2])
const server = new CongoServer({ port, host: '127.0.0.1' })
await server.start()
process.stdout.write(`ready ${port}\n`)
const stop = async () => {
  await server.stop()
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
// The parent's end of stdin closes when the test process dies: don't outlive it.
process.stdin.on('end', stop)
process.stdin.resume()
