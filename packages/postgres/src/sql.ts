/**
 * The table memokit keeps its entries in, and every statement it sends. Namespaces, keys and the prefix are
 * `bytea` (their UTF-8 bytes): a JS string may hold NUL, which a `text` column refuses, and bytes compare
 * byte-wise whatever the database's encoding and collation, so a left-anchored `LIKE` runs as an index range scan.
 */
import { ConfigError } from '@memokit/core'
import { describeValue } from '@memokit/core/backend'

/** Default table of {@link postgresStorage}: `'memokit_cache'`. */
export const DEFAULT_TABLE = 'memokit_cache'

// Lowercase only: a quoted identifier is case-sensitive, so `"Cache"` and an unquoted `Cache` (which PostgreSQL
// folds to `cache`) would be two tables. With lowercase names both spellings reach the same one.
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/
// PostgreSQL truncates identifiers beyond 63 bytes; the index name adds INDEX_SUFFIX to the table's.
const MAX_IDENTIFIER = 63
const INDEX_SUFFIX = '_expiry_idx'

/** A checked table name: `table` or `schema.table`, and the identifiers built from it. */
export interface TableName {
  /** As given, e.g. `memokit_cache` or `cache.memo`. */
  readonly name: string
  /** Quoted for SQL: `"cache"."memo"`. */
  readonly sql: string
  /** The expiry index's name (unqualified: an index lives in its table's schema). */
  readonly index: string
}

/** Validates `table` (lowercase identifiers, optionally `schema.`-qualified) before anything is sent. */
export function tableName(table: unknown): TableName {
  const rule = 'lowercase letters, digits and _, not starting with a digit, optionally schema-qualified (cache.memo)'
  if (typeof table !== 'string') {
    throw new ConfigError('table', `postgresStorage: table must be a string (${rule}), got ${describeValue(table)}`)
  }
  const parts = table.split('.')
  if (parts.length > 2 || !parts.every((part) => IDENTIFIER.test(part))) {
    throw new ConfigError('table', `postgresStorage: table ${JSON.stringify(table)} is not a valid name: use ${rule}`)
  }
  const last = parts[parts.length - 1] as string
  const longest = MAX_IDENTIFIER - INDEX_SUFFIX.length
  if (last.length > longest || (parts[0] as string).length > MAX_IDENTIFIER) {
    throw new ConfigError(
      'table',
      `postgresStorage: table ${JSON.stringify(table)} is too long: at most ${longest} characters for the table (its index is named <table>${INDEX_SUFFIX}, and PostgreSQL cuts names at ${MAX_IDENTIFIER})`,
    )
  }
  return { name: table, sql: parts.map((part) => `"${part}"`).join('.'), index: `${last}${INDEX_SUFFIX}` }
}

/** Every statement memokit sends, for one table. `$1`..`$3` are always prefix, namespace, key (bytea). */
export interface Statements {
  /** `[unlogged]`: one simple query creating the table and its expiry index if absent. */
  readonly create: string
  /** (prefix, ns, key, now) → `value` of a live row. */
  readonly get: string
  /** (prefix, ns, key, value, expiresAt) → upsert. */
  readonly set: string
  /** (prefix, ns, key, value, expiresAt, now) → a row back when this call wrote. */
  readonly add: string
  /** (prefix, ns, key, now) → `live` of the deleted row. */
  readonly delete: string
  /** (prefix, ns) → deletes the namespace. */
  readonly clear: string
  /** (prefix, ns, LIKE pattern) → deletes the namespace's keys matching the pattern. */
  readonly clearPrefix: string
  /** (now, limit) → deletes up to `limit` expired rows (any prefix). */
  readonly prune: string
}

const LIVE = '(expires_at IS NULL OR expires_at > $4)'
const KEY = 'prefix = $1 AND namespace = $2 AND key = $3'

export function statements(table: TableName, unlogged: boolean): Statements {
  const t = table.sql
  return {
    create: `CREATE ${unlogged ? 'UNLOGGED ' : ''}TABLE IF NOT EXISTS ${t} (
  prefix bytea NOT NULL,
  namespace bytea NOT NULL,
  key bytea NOT NULL,
  value bytea NOT NULL,
  expires_at bigint,
  PRIMARY KEY (prefix, namespace, key)
);
CREATE INDEX IF NOT EXISTS "${table.index}" ON ${t} (expires_at) WHERE expires_at IS NOT NULL`,
    get: `SELECT value FROM ${t} WHERE ${KEY} AND ${LIVE}`,
    set: `INSERT INTO ${t} (prefix, namespace, key, value, expires_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (prefix, namespace, key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at`,
    // The row lock taken by ON CONFLICT makes a concurrent add wait and then re-check the WHERE on the row the
    // winner wrote, which is live: exactly one of them gets a row back.
    add: `INSERT INTO ${t} AS e (prefix, namespace, key, value, expires_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (prefix, namespace, key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
WHERE e.expires_at IS NOT NULL AND e.expires_at <= $6
RETURNING 1 AS written`,
    delete: `DELETE FROM ${t} WHERE ${KEY} RETURNING ${LIVE} AS live`,
    clear: `DELETE FROM ${t} WHERE prefix = $1 AND namespace = $2`,
    clearPrefix: `DELETE FROM ${t} WHERE prefix = $1 AND namespace = $2 AND key LIKE $3`,
    // SKIP LOCKED: rows a writer holds are left for the next round instead of waited for.
    prune: `DELETE FROM ${t} WHERE ctid = ANY (ARRAY(
  SELECT ctid FROM ${t} WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED))`,
  }
}

/** A `LIKE` pattern matching the strings that start with `text`: `\`, `%` and `_` escaped (default escape `\`). */
export function startsWithPattern(text: string): string {
  return `${text.replace(/[\\%_]/g, '\\$&')}%`
}

/** SQLSTATEs of a `CREATE … IF NOT EXISTS` that lost a race with the same statement in another session. */
export const CREATE_RACE_CODES: ReadonlySet<string> = new Set(['23505', '42P07', '42710'])
/** SQLSTATE of a missing table. */
export const UNDEFINED_TABLE = '42P01'
/** SQLSTATE of a statement the user may not run (e.g. CREATE TABLE without the privilege). */
export const INSUFFICIENT_PRIVILEGE = '42501'
