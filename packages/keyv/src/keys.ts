import { escapeKeyPart } from '@memokit/core'

/**
 * The Keyv keys of one storage (before Keyv adds its namespace). Every part is escaped (`%` and `:`) and tagged,
 * so each key has exactly one reading:
 *
 * - `<prefix>:n<namespace>:k<key>`: an entry, when clears go through Keyv's iterator;
 * - `<prefix>:n<namespace>:g<version part>:k<key>`: an entry, when clears change the namespace version (the
 *   version part, see namespace-state.ts, is base64url and `.`);
 * - `<prefix>:n<namespace>:v`: the namespace version; `<prefix>:n<namespace>:m<version>`: its cleared prefixes.
 *
 * The tags keep every segment after the prefix non-empty, so no key holds `::` (which `@keyv/redis` without a
 * namespace skips when it lists keys), and the two layouts never meet.
 */
export interface KeyLayout {
  /** The key of an entry; `versionPart` only in generation mode. */
  entry(namespace: string, key: string, versionPart?: string): string
  /** The key holding a namespace's version (generation mode). */
  version(namespace: string): string
  /** The key holding the key prefixes cleared under one version of a namespace (generation mode). */
  marks(namespace: string, version: string): string
  /** What every iterator-mode key of `namespace` whose key starts with `keyPrefix` starts with. */
  range(namespace: string, keyPrefix: string): string
}

/** The layout under `escapedPrefix` (the `prefix` option, `%` and `:` escaped). */
export function keyLayout(escapedPrefix: string): KeyLayout {
  const space = (namespace: string): string => `${escapedPrefix}:n${escapeKeyPart(namespace)}:`
  return {
    entry: (namespace, key, versionPart) =>
      versionPart === undefined
        ? `${space(namespace)}k${escapeKeyPart(key)}`
        : `${space(namespace)}g${versionPart}:k${escapeKeyPart(key)}`,
    version: (namespace) => `${space(namespace)}v`,
    marks: (namespace, version) => `${space(namespace)}m${version}`,
    // The escaping replaces characters one by one, and `%` always starts an escape: a key starts with keyPrefix
    // exactly when its escaped form starts with the escaped keyPrefix.
    range: (namespace, keyPrefix) => `${space(namespace)}k${escapeKeyPart(keyPrefix)}`,
  }
}
