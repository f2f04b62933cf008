import type { StorageOp } from '@memokit/core'
import type { Deadline } from '@memokit/core/backend'
import type { Order } from './write-order'

/** A key as memokit sends it: a string, or bytes for a lease key (which is not valid UTF-8 by design). */
export type RedisKey = string | Buffer

/** The keys and arguments of an `EVAL`/`EVALSHA`, as node-redis takes them. */
export interface EvalOptions {
  readonly keys: RedisKey[]
  readonly arguments: string[]
}

/**
 * The subset of a node-redis client (standalone `createClient`, `createSentinel`, or a cluster's node client)
 * that memokit calls. Typed structurally so any compatible client fits without tying you to exact node-redis
 * generics. Replies are `unknown` because a client's `typeMapping` may turn strings into Buffers.
 */
export interface RedisCommandClient {
  /** `GET key`: the stored string, or null when absent. */
  get(key: string): Promise<unknown>
  /** `SET key value [PX ms] [NX]`: 'OK', or null when NX prevented the write (`acquireLease`: a lease key). */
  set(
    key: RedisKey,
    value: string,
    options?: { readonly expiration?: { type: 'PX'; value: number }; readonly condition?: 'NX' },
  ): Promise<unknown>
  /** `UNLINK key [key ...]`: how many keys existed (`clear` passes lease keys as bytes). */
  unlink(keys: RedisKey | RedisKey[]): Promise<unknown>
  /** `EVALSHA sha numkeys key... arg...`: the lease members and `delete` (see the README, "Leases"). */
  evalSha(sha: string, options: EvalOptions): Promise<unknown>
  /** `EVAL script numkeys key... arg...`: sent once when EVALSHA answers NOSCRIPT (a restarted server). */
  eval(script: string, options: EvalOptions): Promise<unknown>
  /**
   * `MGET key [key ...]`: each stored string or null, in order (`getMany`; on a cluster, keys of one slot only).
   * Every node-redis client has it; without it, `getMany` sends concurrent GETs.
   */
  mGet?(keys: string[]): Promise<unknown[]>
}

/** A client that can `SCAN` its own keyspace (standalone, Sentinel, a cluster's node client). */
export interface RedisScanClient {
  /**
   * `SCAN cursor MATCH pattern COUNT n`. node-redis types the pattern as a string; `clear` also passes bytes (a
   * pattern for lease keys only), which it sends unchanged.
   */
  scan(cursor: string, options: { MATCH: string; COUNT: number }): Promise<{ cursor: unknown; keys: unknown[] }>
}

/**
 * The client you may pass as `client`: node-redis 6 `createClient`, `createClientPool`, `createCluster` or
 * `createSentinel`.
 */
export interface RedisCompatibleClient extends RedisCommandClient {
  /** True once `connect()` was called and until the client is closed. */
  readonly isOpen: boolean
  /** Opens the connection(s); memokit calls it once if the client isn't open yet. */
  connect(): Promise<unknown>
  /** Standalone and Sentinel clients: used by `clear`. */
  scan?: RedisScanClient['scan']
  /** Cluster clients: the master nodes, each scanned by `clear`. */
  readonly masters?: readonly unknown[]
  /** Cluster clients: the client of one node from `masters`. */
  nodeClient?(node: never): Promise<unknown>
  /** Sentinel clients (with `getMasterNode`): how memokit tells them apart; `clear` then scans the master. */
  acquire?(): Promise<unknown>
}

/** What memokit needs from a client it created itself from `url`. */
export interface OwnedClient extends RedisCompatibleClient {
  readonly isReady: boolean
  close(): Promise<unknown>
  destroy(): unknown
  /** Lets the socket keep the process alive (while an operation is in flight). */
  ref(): unknown
  /** Lets the process exit although the socket is open (while the storage is idle). */
  unref(): unknown
  on(event: 'error', listener: (error: unknown) => void): unknown
  once(event: 'ready' | 'error', listener: (arg: unknown) => void): unknown
  off(event: 'ready' | 'error', listener: (arg: unknown) => void): unknown
}

/**
 * An ioredis 5 client you may pass as `client`: `new Redis(...)` (standalone or Sentinel) or `new Cluster(...)`.
 * Typed by the few members memokit tells it apart by, so memokit needs no ioredis types; it sends `GET`, `MGET`, `SET`,
 * `UNLINK`, `EVALSHA`/`EVAL` and `SCAN` (on every master of a cluster) through the client's own methods.
 */
export interface IoredisCompatibleClient {
  /** ioredis' connection state: `wait` (lazyConnect), `connecting`, `ready`, `reconnecting`, `end`, ... */
  readonly status: string
  /** `false` for `new Redis()`, `true` for `new Cluster()`. */
  readonly isCluster: boolean
  /** Connects a `lazyConnect` client, or one whose retryStrategy gave up; memokit calls it at most then. */
  connect(): Promise<void>
  /** `GET key`. */
  get(key: string): Promise<unknown>
}

/** One node's keyspace that `clear` walks, and how to remove the keys found there. */
export interface ClearTarget {
  /** `SCAN cursor MATCH pattern COUNT count` on this node. */
  scan(cursor: string, pattern: string | Buffer, count: number): Promise<{ cursor: unknown; keys: unknown[] }>
  /** Removes found keys (without the client's keyPrefix, which the client adds again). */
  unlink(keys: RedisKey[]): Promise<unknown>
}

/** What redisStorage needs to know about a client kind beyond its commands; built once per storage. */
export interface ClientAdapter {
  /** The keyPrefix the client adds to every key, which SCAN neither adds to its pattern nor strips. */
  readonly keyPrefix: string
  /** A Redis Cluster client: `getMany` sends one MGET per hash slot instead of one MGET. */
  readonly cluster: boolean
  /**
   * The client retries TRYAGAIN itself (an ioredis Cluster: every retryDelayOnTryAgain, 100 ms, on a random master,
   * until maxRedirections, 16, errors: 1 to 1.7 s, past the default operationTimeoutMs, giving up with an error that
   * may name a MOVED; no option turns it off). A multi-key script sent while its slot moves then times out instead
   * of reaching memokit's fallback, so `delete` sends its single-key commands on such a client (leases.ts).
   */
  readonly retriesTryAgain?: boolean
  /** Every node a clear must scan (each master of a cluster); called once the client is connected. */
  clearTargets(): Promise<readonly ClearTarget[]>
}

/**
 * A command as Connection.read sends it: `arg` spares the caller a closure per read; `deadline` is the operation's
 * (`deadline.at`, on performance.now()'s clock), until which a command a moving slot refuses is sent again.
 */
export type ConnectionCommand<A, T> = (client: RedisCompatibleClient, arg: A, deadline: Deadline) => Promise<T>

/** The storage's side of one client: connecting, bounding, tracking what is in flight, closing. */
export interface Connection {
  /** Runs one storage operation: rejects at once after `close()`, and `close()` waits for it. */
  track<T>(op: StorageOp, work: () => Promise<T>): Promise<T>
  /**
   * Sends one command, waiting (bounded) for the first connect, and with `order` for the writes it must follow;
   * wraps failures into StorageErrors. `command` gets the operation's deadline (see ConnectionCommand).
   */
  run<T>(
    op: StorageOp,
    command: (client: RedisCompatibleClient, deadline: Deadline) => Promise<T>,
    order?: Order,
  ): Promise<T>
  /**
   * `track` + `run` + `decode` of the reply as one promise: the hit path. Once connected, it saves the two promises
   * and microtask hops per read that composing them costs (bench R1). Rejects with what `decode` throws, unwrapped.
   * `command` gets `arg` and the deadline too (ConnectionCommand), so a storage passes one function made once
   * instead of a closure per read. With `onValue` (and `onError`, given together), the decoded value (or the
   * failure: a StorageError, a timeout, what `decode` threw) goes to them inside this promise, which settles with
   * what they return or throw: core's hit path without a promise of its own (redis-storage.ts, GET_THEN).
   */
  read<A, T, R = T>(
    op: StorageOp,
    command: ConnectionCommand<A, unknown>,
    arg: A,
    decode: (reply: unknown) => T,
    onValue?: (value: T) => R,
    onError?: (error: unknown) => R,
  ): Promise<R>
  /** Bounds work that doesn't go through `run` (a SCAN step) by `operationTimeoutMs`. */
  bounded<T>(op: StorageOp, work: PromiseLike<T> | T): Promise<T>
  /** Waits for the operations in flight, then closes a client memokit created (a user's client stays open). */
  close(): Promise<void>
}
