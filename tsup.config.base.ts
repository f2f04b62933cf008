import type { Options } from 'tsup'

/** Shared build for every publishable package: ESM + CJS + .d.ts/.d.cts from src/index.ts. */
export const packageConfig: Options = {
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  splitting: false,
  treeshake: true,
}
