/**
 * The five memcached commands memokit needs, as promises, plus optional ones (`getMulti`; `gets` and `cas` for
 * leases). Every memcached client has the five: use `fromMemjs` / `fromMemcacheClient`, or write a 10-line
 * adapter for any other client (see the README).
 *
 * Keys passed in are always valid memcached keys: at most 250 bytes of UTF-8, no spaces or control characters.
 * `exptime` is passed through to memcached as is: `0` = no expiry, up to 2,592,000 = seconds from now, above =
 * an absolute Unix time in seconds (memokit converts). A failure (connection, server error) must reject; a
 * command that simply didn't apply (key present for `add`, absent for `append`/`delete`) resolves `false`.
 */
export interface MemcachedClient {
  /** `get`: the stored bytes (a UTF-8 string or a Buffer), or `null`/`undefined` when the key is absent. */
  get(key: string): Promise<string | Buffer | null | undefined>
  /** `set`: stores unconditionally. Resolves when stored; rejects otherwise (e.g. a value over the item size). */
  set(key: string, value: string, exptime: number): Promise<void>
  /**
   * `add`: stores only if the key is absent; `true` if stored, `false` if the key was present. Backs
   * `storage.add`, and lets concurrent first writers of a namespace agree on one namespace version.
   */
  add(key: string, value: string, exptime: number): Promise<boolean>
  /**
   * `append`: appends to an existing value; `true` if appended, `false` if the key was absent. Backs
   * `clear(namespace, keyPrefix)`: concurrent clears of different prefixes can't overwrite each other's marks.
   */
  append(key: string, value: string): Promise<boolean>
  /** `delete`: `true` if the key was there and is now gone, `false` if it was absent. */
  delete(key: string): Promise<boolean>
  /**
   * Optional multi-key `get`: the values in the order of `keys` (`null`/`undefined` for absent ones). When
   * present, a read fetches the namespace version and the entry in one command, and `getMany` the version and all
   * its entries; otherwise two pipelined `get`s, and one `get` per key.
   */
  getMulti?(keys: readonly string[]): Promise<ReadonlyArray<string | Buffer | null | undefined>>
  /**
   * Optional, together with `cas`: `gets`, the stored bytes and their CAS unique (an opaque string for `cas`), or
   * `null`/`undefined` when the key is absent. With both, the storage has the lease members (`acquireLease`, …).
   */
  gets?(key: string): Promise<{ readonly value: string | Buffer; readonly cas: string } | null | undefined>
  /**
   * Optional, together with `gets`: `cas`, stores only while the key still has the CAS unique `cas` from `gets`;
   * `true` if stored, `false` if the key changed since (EXISTS) or is gone (NOT_FOUND).
   */
  cas?(key: string, value: string, exptime: number, cas: string): Promise<boolean>
  /**
   * Optional: where the client connects, e.g. `'127.0.0.1:11211'` (several servers joined by `,`), for error
   * messages and the storage's `scope`. Never credentials. `fromMemjs` and `fromMemcacheClient` set it; without
   * it, messages say `memcached` and the scope is this client object (storages sharing it share a scope).
   */
  readonly server?: string
}
