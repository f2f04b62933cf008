/**
 * Pure helpers of the file storage: how prefixes, namespaces and keys become paths, and the file format.
 * No I/O here; the sync and async storages share all of it.
 */
import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { CodecError } from '@memokit/core'

/** Longest escaped directory name; longer names are hashed (file systems allow 255 bytes per name). */
const MAX_ESCAPED_NAME = 160

const sha256 = (text: string): string =>
  // UTF-16 code units, not UTF-8: UTF-8 maps every lone surrogate to U+FFFD, which would merge distinct strings.
  createHash('sha256').update(text, 'utf16le').digest('hex')

/**
 * Turns any string into a directory name that is injective, safe on every file system and unchanged by case
 * folding: `e-` followed by the string with every character outside `[a-z0-9-]` written as `_` plus its four-digit
 * lowercase hex UTF-16 code unit (`user:x` → `e-user_003ax`, `User` → `e-_0055ser`), or `h-` plus a SHA-256 when
 * that would be long. Only `[a-z0-9_-]` appears, so no name is special (`.`, `..`, `con`) or differs only in case.
 */
export function encodeDirName(part: string): string {
  let out = 'e-'
  for (let i = 0; i < part.length; i++) {
    const c = part.charCodeAt(i)
    if ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d) out += part[i]
    else out += `_${c.toString(16).padStart(4, '0')}`
    if (out.length > MAX_ESCAPED_NAME) return `h-${sha256(part)}`
  }
  return out
}

/** The entry file name of a key: SHA-256 hex (lowercase), so any key length and character fits. */
export const keyFileName = (key: string): string => sha256(key)

const ENTRY_NAME = /^[0-9a-f]{64}$/

/** What kind of file a name in a namespace directory is. */
export function fileKind(name: string): 'entry' | 'temp' | 'lock' | 'lease' | 'other' {
  if (ENTRY_NAME.test(name)) return 'entry'
  if (name.endsWith('.tmp')) return 'temp'
  if (name.endsWith('.lock')) return 'lock'
  if (name.endsWith('.lease')) return 'lease'
  return 'other'
}

/** The paths of one entry. */
export interface EntryPaths {
  /** `${dir}/${prefixEnc}`: everything of one storage prefix. */
  readonly prefixDir: string
  /** `${prefixDir}/${namespaceEnc}`: everything of one namespace. */
  readonly nsDir: string
  /** `${nsDir}/${sha256(key)}`: the entry file. */
  readonly file: string
  /** Held (created exclusively) while an expired entry is removed or replaced, so `add` stays atomic. */
  readonly lock: string
}

export function entryPaths(prefixDir: string, namespace: string, key: string): EntryPaths {
  const nsDir = join(prefixDir, encodeDirName(namespace))
  const file = join(nsDir, keyFileName(key))
  return { prefixDir, nsDir, file, lock: `${file}.lock` }
}

const unique = (): string => `${process.pid.toString(36)}-${randomBytes(6).toString('hex')}`

/** A fresh temp file next to the entry (same directory, so the rename that publishes it is atomic). */
export const tempPath = (file: string): string => `${file}.${unique()}.tmp`

/** Where `clear` moves a namespace directory before deleting it: never a valid namespace directory name. */
export const trashPath = (prefixDir: string): string => join(prefixDir, `.trash-${unique()}`)

export const isTrashName = (name: string): boolean => name.startsWith('.trash-')

/*
 * File format: a magic line, a JSON header line, then the codec's entry payload.
 *   MKF1\n["<prefix>","<namespace>","<key>",<expiresAt or null>]\n<payload>
 * The header lets a read verify the file belongs to the requested key (defence against hash collisions and
 * misplaced files), and lets expiry checks, prune and keyPrefix clears skip decoding the value.
 */
const MAGIC = 'MKF1\n'

/** The parsed header of an entry file plus its undecoded payload. */
export interface ParsedFile {
  readonly prefix: string
  readonly namespace: string
  readonly key: string
  readonly expiresAt: number | undefined
  readonly payload: string
}

export function formatFile(
  prefix: string,
  namespace: string,
  key: string,
  expiresAt: number | undefined,
  payload: string,
): string {
  return `${MAGIC}${JSON.stringify([prefix, namespace, key, expiresAt ?? null])}\n${payload}`
}

/** Parses an entry file; throws a CodecError when it is not one (truncated, foreign or corrupt). */
export function parseFile(text: string): ParsedFile {
  if (!text.startsWith(MAGIC)) throw new CodecError('corrupt file entry: missing MKF1 header')
  const end = text.indexOf('\n', MAGIC.length)
  if (end === -1) throw new CodecError('corrupt file entry: truncated header')
  let header: unknown
  try {
    header = JSON.parse(text.slice(MAGIC.length, end))
  } catch (error) {
    throw new CodecError('corrupt file entry: header is not JSON', { cause: error })
  }
  if (
    !Array.isArray(header) ||
    header.length !== 4 ||
    typeof header[0] !== 'string' ||
    typeof header[1] !== 'string' ||
    typeof header[2] !== 'string' ||
    !(header[3] === null || Number.isFinite(header[3]))
  ) {
    throw new CodecError('corrupt file entry: bad header')
  }
  return {
    prefix: header[0],
    namespace: header[1],
    key: header[2],
    expiresAt: header[3] ?? undefined,
    payload: text.slice(end + 1),
  }
}

/** Whether a parsed file holds exactly this (prefix, namespace, key). */
export const belongsTo = (parsed: ParsedFile, prefix: string, namespace: string, key: string): boolean =>
  parsed.key === key && parsed.namespace === namespace && parsed.prefix === prefix
