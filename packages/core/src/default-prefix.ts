/** The prefix a backend uses when none is given, derived from the application's package name. */
import { readFileSync } from 'node:fs'
import { dirname, join, resolve, sep } from 'node:path'
import { ConfigError } from './errors'

interface AppName {
  readonly name: string | undefined
  /** Where the search started, for the error message. */
  readonly from: string
}

let appName: AppName | undefined

function findAppName(): AppName {
  const script = process.argv[1]
  // A runner (jest, pm2, ts-node) lives in node_modules: its package isn't the application, the directory it runs in is.
  const fromScript =
    typeof script === 'string' && script !== '' && !`${resolve(script)}${sep}`.includes(`${sep}node_modules${sep}`)
  const from = fromScript ? dirname(resolve(script as string)) : process.cwd()
  for (let dir = from; ; dir = dirname(dir)) {
    let text: string | undefined
    try {
      text = readFileSync(join(dir, 'package.json'), 'utf8')
    } catch {
      // None here: keep walking up.
    }
    if (text !== undefined) {
      try {
        const { name } = JSON.parse(text) as { name?: unknown }
        // A package.json without a name (e.g. one that only sets "type") belongs to an enclosing package.
        if (typeof name === 'string' && name !== '') return { name, from }
      } catch {
        // Not JSON: not the application's package.json.
      }
    }
    if (dirname(dir) === dir) return { name: undefined, from }
  }
}

/**
 * The prefix a backend uses when none is given: `memokit/<name>`, where `<name>` is the `name` of the nearest
 * package.json above the entry script (`process.argv[1]`), or above the working directory when the entry script
 * lies in `node_modules` (jest, pm2) or there is none (REPL). So two applications on one server never share
 * entries by default, while replicas of one application (same package name) do. Looked up once per process.
 * Throws a ConfigError (option `prefix`) when no package.json with a name is found: pass `prefix` then.
 * @example defaultPrefix('redisStorage') // 'memokit/@acme/shop'
 */
export function defaultPrefix(owner: string): string {
  appName ??= findAppName()
  if (appName.name === undefined) {
    throw new ConfigError(
      'prefix',
      `${owner}: no prefix given, and no package.json with a "name" was found in ${appName.from} or above to derive the default prefix 'memokit/<name>' from; pass prefix (e.g. prefix: 'my-app'): storages with the same prefix on one server share entries`,
    )
  }
  return `memokit/${appName.name}`
}
