/*
 * Errors in the codec: the built-in Error classes by their prototype, and Error subclasses added with
 * `registerClass` (superjson's own class rule keeps own enumerable properties only, losing `message` and `stack`).
 */
import type { CodecTransformer } from './codec'
import { isObject } from './codec-json'
import { className, withArticle } from './describe'
import { CodecError } from './errors'

export interface ErrorData {
  /** The built-in class (`TypeError`...), for errors stored by the built-in transformer. */
  type?: string
  name: string
  message: string
  stack?: string
  cause?: unknown
  errors?: unknown[]
  props?: Record<string, unknown>
}

export const BUILTIN_ERRORS: Readonly<Record<string, ErrorConstructor | AggregateErrorConstructor>> = {
  Error,
  TypeError,
  RangeError,
  ReferenceError,
  SyntaxError,
  EvalError,
  URIError,
  AggregateError,
}
const BUILTIN_ERROR_TYPES = new Map<unknown, string>(
  Object.entries(BUILTIN_ERRORS).map(([type, ctor]) => [ctor.prototype, type]),
)

export function serializeError(error: Error): ErrorData {
  const data: ErrorData = { name: error.name, message: error.message }
  if (typeof error.stack === 'string') data.stack = error.stack
  if ('cause' in error) data.cause = error.cause
  if (error instanceof AggregateError) data.errors = [...error.errors]
  // Own enumerable properties such as Node's `code`, `errno`, `syscall`.
  let props: Record<string, unknown> | undefined
  for (const key of Object.keys(error)) {
    if (key === 'cause' || key === 'stack' || key === 'message') continue
    props ??= {}
    // defineProperty, not assignment: assigning `__proto__` would set the prototype and lose the property.
    Object.defineProperty(props, key, {
      value: (error as unknown as Record<string, unknown>)[key],
      writable: true,
      enumerable: true,
      configurable: true,
    })
  }
  if (props !== undefined) data.props = props
  return data
}

export function checkErrorData(data: unknown): asserts data is ErrorData {
  if (!isObject(data)) throw new Error('bad error data')
  const d = data as Partial<ErrorData>
  if (typeof d.name !== 'string' || typeof d.message !== 'string') throw new Error('bad error data')
  if (d.stack !== undefined && typeof d.stack !== 'string') throw new Error('bad error stack')
  if (d.errors !== undefined && !Array.isArray(d.errors)) throw new Error('bad aggregate errors')
  if (d.props !== undefined && !isObject(d.props)) throw new Error('bad error props')
}

export function defineHidden(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: false, configurable: true })
}

export function restoreErrorFields(error: Error, data: ErrorData): Error {
  if (data.stack === undefined) delete error.stack
  else defineHidden(error, 'stack', data.stack)
  if ('cause' in data) defineHidden(error, 'cause', data.cause)
  if (data.props !== undefined) {
    for (const [key, value] of Object.entries(data.props)) {
      // defineProperty, not assignment: a `__proto__` key must stay a plain property.
      Object.defineProperty(error, key, { value, writable: true, enumerable: true, configurable: true })
    }
  }
  return error
}

export const errorTransformer = (classErrors: ReadonlySet<unknown>): CodecTransformer<Error, ErrorData> => ({
  name: 'memokit:error',
  isApplicable: (value): value is Error => value instanceof Error && !classErrors.has(value.constructor),
  serialize(error) {
    const type = BUILTIN_ERROR_TYPES.get(Object.getPrototypeOf(error))
    if (type === undefined) {
      // superjson would store it as a plain Error and `instanceof` would silently fail after a hit.
      const name = className(error)
      throw new CodecError(
        name === undefined
          ? 'Cannot encode an instance of an anonymous Error subclass: give the class a name and register it with ' +
              'codec.registerClass(), or cache plain data.'
          : `Cannot encode ${withArticle(name)} instance: ${name} is an Error subclass; register it with ` +
              `codec.registerClass(${name}), or cache plain data.`,
      )
    }
    return { type, ...serializeError(error) }
  },
  deserialize(data) {
    checkErrorData(data)
    const Ctor = BUILTIN_ERRORS[data.type ?? '']
    if (Ctor === undefined) throw new Error(`unknown error type ${String(data.type)}`)
    const error =
      Ctor === AggregateError
        ? new AggregateError(data.errors ?? [], data.message)
        : new (Ctor as ErrorConstructor)(data.message)
    if (error.name !== data.name) defineHidden(error, 'name', data.name)
    return restoreErrorFields(error, data)
  },
})

/** The custom type that stores instances of `cls`, an Error subclass added with `registerClass`. */
export function errorClassTransformer(
  cls: new (...args: never[]) => unknown,
  name: string,
): CodecTransformer<Error, ErrorData> {
  return {
    name,
    isApplicable: (value: unknown): value is Error => isObject(value) && value.constructor === cls,
    serialize: serializeError,
    deserialize(data: unknown) {
      checkErrorData(data)
      const error = Object.create(cls.prototype) as Error
      defineHidden(error, 'message', data.message)
      if (data.errors !== undefined) defineHidden(error, 'errors', data.errors)
      return restoreErrorFields(error, data)
    },
  }
}
