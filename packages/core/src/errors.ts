/** Every memokit error code, one per error class. */
export type MemokitErrorCode = 'E_CONFIG' | 'E_KEY' | 'E_STORAGE' | 'E_CODEC' | 'E_USAGE' | 'E_TIMEOUT' | 'E_COMPUTE'

/** Base class of every error memokit throws. `code` is stable; `message` says what was wrong and how to fix it. */
export class MemokitError extends Error {
  /** A stable machine-readable code. */
  readonly code: MemokitErrorCode
  constructor(code: MemokitErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}

/**
 * Bad options, thrown when the wrapper or storage is created, before anything runs.
 * `option` names the offending option.
 */
export class ConfigError extends MemokitError {
  static readonly code = 'E_CONFIG'
  /** The option that was wrong, e.g. `'ttl'`. */
  readonly option: string
  constructor(option: string, message: string, options?: { cause?: unknown }) {
    super('E_CONFIG', message, options)
    this.option = option
  }
}

/** An argument that cannot be encoded into a cache key; thrown before the wrapped function runs. */
export class KeyError extends MemokitError {
  static readonly code = 'E_KEY'
  /** Where the value sits, e.g. `'args[1].user.tags[0]'`. */
  readonly path: string
  /** The value's constructor or type, e.g. `'Socket'`, `'function'`, `'symbol'`, `'cycle'`. */
  readonly valueType: string
  /** The cached function's identity. */
  readonly functionName: string
  constructor(
    message: string,
    details: { path: string; valueType: string; functionName: string },
    options?: { cause?: unknown },
  ) {
    super('E_KEY', message, options)
    this.path = details.path
    this.valueType = details.valueType
    this.functionName = details.functionName
  }
}

/** The storage failed (connection lost, timeout, server error). `cause` holds the original error. */
export class StorageError extends MemokitError {
  static readonly code = 'E_STORAGE'
  /** The storage's `name`, e.g. `'redis'`. */
  readonly storage: string
  /** The operation that failed. */
  readonly op: StorageOp
  constructor(message: string, details: { storage: string; op: StorageOp }, options?: { cause?: unknown }) {
    super('E_STORAGE', message, options)
    this.storage = details.storage
    this.op = details.op
  }
}

/** A value could not be encoded, or a stored payload could not be decoded (corrupt or unknown format version). */
export class CodecError extends MemokitError {
  static readonly code = 'E_CODEC'
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_CODEC', message, options)
  }
}

/**
 * A wrapper was used in a way that cannot work, found while it runs rather than from its options: a
 * `cacheReference` factory that calls itself with the same arguments while creating its object, a `@cached`
 * method called without its instance, or `.stats()` on a wrapper made without `stats: true`.
 */
export class UsageError extends MemokitError {
  static readonly code = 'E_USAGE'
  /** The wrapped function's identity. */
  readonly functionName: string
  constructor(message: string, details: { functionName: string }, options?: { cause?: unknown }) {
    super('E_USAGE', message, options)
    this.functionName = details.functionName
  }
}

/**
 * A computation outlived `timeout.hard`: its callers get this error (or a stale value, when `staleIfError` covers
 * it), and the computation's AbortSignal aborts with it as the reason.
 */
export class TimeoutError extends MemokitError {
  static readonly code = 'E_TIMEOUT'
  /** The cached function's identity. */
  readonly functionName: string
  readonly namespace: string
  /** The hard timeout (or the `waitTimeout`, when `lease`) that passed, in ms. */
  readonly timeoutMs: number
  /** `true`: no value appeared while another replica held the lease (`waitTimeout`, `onLeaseTimeout: 'throw'`). */
  readonly lease: boolean
  constructor(details: { functionName: string; namespace: string; timeoutMs: number; lease?: boolean }) {
    super(
      'E_TIMEOUT',
      details.lease === true
        ? `${details.functionName} in namespace '${details.namespace}': another replica held the lease and no value appeared within ${details.timeoutMs} ms (waitTimeout, onLeaseTimeout: 'throw')`
        : `${details.functionName} in namespace '${details.namespace}' did not finish within ${details.timeoutMs} ms (timeout.hard); its callers were released and its signal aborted`,
    )
    this.lease = details.lease === true
    this.functionName = details.functionName
    this.namespace = details.namespace
    this.timeoutMs = details.timeoutMs
  }
}

/**
 * Reported to `onError` (never thrown) when `fn` failed and a stale value was served in its place: by
 * `staleIfError`, or behind a stale hit (`swr`, `refreshAhead`). `cause` is what `fn` threw; callers that are not
 * served stale get that error itself, unwrapped.
 */
export class ComputeError extends MemokitError {
  static readonly code = 'E_COMPUTE'
  /** The cached function's identity. */
  readonly functionName: string
  constructor(functionName: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause)
    super('E_COMPUTE', `${functionName} failed (${reason}); a stale value was served instead`, { cause })
    this.functionName = functionName
  }
}

/** The storage operations reported to `onError`. */
export type StorageOp =
  | 'get'
  | 'set'
  | 'add'
  | 'delete'
  | 'clear'
  | 'close'
  | 'connect'
  | 'acquireLease'
  | 'releaseLease'
  | 'extendLease'
  | 'setIfLeased'
