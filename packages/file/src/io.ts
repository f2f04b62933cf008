/**
 * How the file storage's algorithms touch the disk: each algorithm is a generator that yields I/O requests
 * (`FsOps` calls); `runSync` answers them with sync calls and `runAsync` with promises, so both storages share
 * every decision.
 */

/** The I/O primitives the algorithms use. Expected races (missing file, existing file) are results, not errors. */
export interface FsOps {
  /** The file's text, or `undefined` if it does not exist. */
  read(path: string): string | undefined
  /** Creates the file exclusively; `'exists'` if it is there, `'nodir'` if its directory is missing. */
  create(path: string, data: string): 'ok' | 'exists' | 'nodir'
  mkdirp(path: string): void
  /** Renames (replacing the target); `false` if the source or the target's directory is missing. */
  rename(from: string, to: string): boolean
  /** Hard-links `from` as `to`; `'exists'` if `to` exists, `'nodir'` if `from` or the directory is missing. */
  link(from: string, to: string): 'ok' | 'exists' | 'nodir'
  /** `false` if the file did not exist. */
  unlink(path: string): boolean
  /** Removes a file, ignoring every error: used for cleanup that must not hide the original outcome. */
  unlinkQuietly(path: string): void
  /** Removes a directory tree; nothing if missing. */
  removeTree(path: string): void
  /** Names in a directory; `[]` if it does not exist. */
  list(path: string): string[]
  /** Modification time in ms since the epoch, or `undefined` if missing. */
  mtime(path: string): number | undefined
  sleep(ms: number): void
}

type Request = { [K in keyof FsOps]: { readonly op: K; readonly args: Parameters<FsOps[K]> } }[keyof FsOps]
/** An algorithm: yields requests, receives their results, returns `T`. */
export type Task<T> = Generator<Request, T, unknown>

export function* call<K extends keyof FsOps>(
  op: K,
  ...args: Parameters<FsOps[K]>
): Generator<Request, ReturnType<FsOps[K]>> {
  return (yield { op, args } as Request) as ReturnType<FsOps[K]>
}

/** Runs a task with sync I/O. */
export function runSync<T>(task: Task<T>, ops: FsOps): T {
  let step = task.next()
  while (!step.done) {
    const { op, args } = step.value
    let result: unknown
    try {
      result = (ops[op] as (...a: unknown[]) => unknown)(...args)
    } catch (error) {
      step = task.throw(error)
      continue
    }
    step = task.next(result)
  }
  return step.value
}

/** The same primitives answered with promises. */
export type AsyncFsOps = { [K in keyof FsOps]: (...args: Parameters<FsOps[K]>) => Promise<ReturnType<FsOps[K]>> }

/** Runs a task with async I/O. */
export async function runAsync<T>(task: Task<T>, ops: AsyncFsOps): Promise<T> {
  let step = task.next()
  while (!step.done) {
    const { op, args } = step.value
    let result: unknown
    try {
      result = await (ops[op] as (...a: unknown[]) => Promise<unknown>)(...args)
    } catch (error) {
      step = task.throw(error)
      continue
    }
    step = task.next(result)
  }
  return step.value
}
