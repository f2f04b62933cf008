export { ATTR } from './attributes'
export type { MemokitInstrumentation, MemokitInstrumentationOptions } from './instrument'
export { INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION, instrumentMemokit } from './instrument'
