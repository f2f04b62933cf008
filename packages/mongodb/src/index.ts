export type { MongoClientLike, MongoCollectionLike, MongoDocument, MongoIndexSpec } from './documents'
export type {
  MongoStorageClientOptions,
  MongoStorageOptions,
  MongoStorageSharedOptions,
  MongoStorageUrlOptions,
} from './options'
export { DEFAULT_COLLECTION, DEFAULT_DATABASE, DEFAULT_OPERATION_TIMEOUT_MS } from './options'
export type { MongoStorage } from './storage'
export { mongoStorage } from './storage'
