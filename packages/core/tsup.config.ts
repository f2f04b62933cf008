import { defineConfig } from 'tsup'
import { bundledLicenses, packageConfig } from '../../tsup.config.base'

// Two entries: the API and `@memokit/core/backend` (helpers for storage backends). Splitting puts the modules both
// use (the error classes) into one shared chunk, so `instanceof ConfigError` holds whichever entry threw.
// superjson ships ESM only, and Jest's module system cannot require() ESM, so a CommonJS build that requires it
// fails under Jest's default setup. Both formats bundle it (a devDependency): ESM and CJS users run the same
// codec, whose payload format then depends on memokit's version alone. Its MIT notice heads every output file.
export default defineConfig({
  ...packageConfig,
  entry: ['src/index.ts', 'src/backend.ts'],
  splitting: true,
  noExternal: ['superjson'],
  banner: { js: bundledLicenses(import.meta.dirname, ['superjson']) },
})
