export type {
  MongoClientLike,
  MongoCollectionLike,
  MongoDocument,
  MongoStorage,
  MongoStorageClientOptions,
  MongoStorageOptions,
  MongoStorageSharedOptions,
  MongoStorageUrlOptions,
} from './storage'
export { DEFAULT_COLLECTION, DEFAULT_DATABASE, DEFAULT_OPERATION_TIMEOUT_MS, mongoStorage } from './storage'
