import { ConfigError } from '@memokit/core'
import { describeValue as describe } from '@memokit/core/backend'

// MongoDB's naming rules (https://www.mongodb.com/docs/manual/reference/limits/#naming-restrictions), checked
// here so a bad name fails when the storage is created instead of on the first cache read in production.
const DATABASE_FORBIDDEN = /[/\\. "$*<>:|?\0]/
const MAX_DATABASE_BYTES = 63
// The full namespace `<database>.<collection>` is limited to 255 bytes since MongoDB 4.4.
const MAX_NAMESPACE_BYTES = 255

export function validateDatabaseName(database: unknown): asserts database is string {
  if (typeof database !== 'string' || database.length === 0) {
    throw new ConfigError('database', `database must be a non-empty string, got ${describe(database)}`)
  }
  const bad = DATABASE_FORBIDDEN.exec(database)
  if (bad) {
    throw new ConfigError(
      'database',
      `database ${JSON.stringify(database)} contains ${JSON.stringify(bad[0])}; MongoDB database names may not contain / \\ . space " $ * < > : | ? or NUL`,
    )
  }
  if (Buffer.byteLength(database, 'utf8') > MAX_DATABASE_BYTES) {
    throw new ConfigError(
      'database',
      `database ${JSON.stringify(database)} is ${Buffer.byteLength(database, 'utf8')} bytes; MongoDB database names must be shorter than 64 bytes`,
    )
  }
}

export function validateCollectionName(collection: unknown, database: string): asserts collection is string {
  if (typeof collection !== 'string' || collection.length === 0) {
    throw new ConfigError('collection', `collection must be a non-empty string, got ${describe(collection)}`)
  }
  if (collection.includes('$') || collection.includes('\0')) {
    throw new ConfigError(
      'collection',
      `collection ${JSON.stringify(collection)} contains "$" or NUL, which MongoDB collection names may not contain`,
    )
  }
  if (collection.startsWith('system.')) {
    throw new ConfigError(
      'collection',
      `collection ${JSON.stringify(collection)} starts with "system.", which MongoDB reserves; pick another name`,
    )
  }
  const namespaceBytes = Buffer.byteLength(`${database}.${collection}`, 'utf8')
  if (namespaceBytes > MAX_NAMESPACE_BYTES) {
    throw new ConfigError(
      'collection',
      `"${database}.${collection}" is ${namespaceBytes} bytes; MongoDB limits database + "." + collection to 255 bytes`,
    )
  }
}
