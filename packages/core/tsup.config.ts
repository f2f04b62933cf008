import { defineConfig } from 'tsup'
import { packageConfig } from '../../tsup.config.base'

// Two entries: the API and `@memokit/core/backend` (helpers for storage backends). Splitting puts the modules both
// use (the error classes) into one shared chunk, so `instanceof ConfigError` holds whichever entry threw.
export default defineConfig({ ...packageConfig, entry: ['src/index.ts', 'src/backend.ts'], splitting: true })
