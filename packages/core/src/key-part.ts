/**
 * Escapes one part of a physical storage key so that `:` can separate parts unambiguously:
 * `%` becomes `%25` and `:` becomes `%3A`. Injective, so `escapeKeyPart(a) === escapeKeyPart(b)` only when `a === b`.
 * Backends build physical keys as `${escapeKeyPart(prefix)}:${escapeKeyPart(namespace)}:${key}`.
 */
export function escapeKeyPart(part: string): string {
  if (part.indexOf('%') === -1 && part.indexOf(':') === -1) return part
  return part.replace(/%/g, '%25').replace(/:/g, '%3A')
}
