// @ts-check
/**
 * Builds the collector SDK for services that run plain Node (no TypeScript loader): `npm run build:sdk` writes
 * - `dist-sdk/index.js`: one ES module for Node ≥ 20 (esbuild; every npm dependency left as an import),
 * - `dist-sdk/index.d.ts`: its types, bundled into one file (rollup-plugin-dts), so consumers on any
 *   `moduleResolution` (node16/nodenext/bundler) resolve them,
 * which package.json `exports["./sdk"]` points at (`import { createCollector } from 'fusebox/sdk'`).
 * server/sdk/package.test.ts builds it and imports it from plain Node and from a NodeNext TypeScript project.
 */
import { build } from 'esbuild'
import { rollup } from 'rollup'
import { dts } from 'rollup-plugin-dts'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const ENTRY = join(ROOT, 'server/sdk/index.ts')
const OUT = join(ROOT, 'dist-sdk')

/** Builds both files; resolves to their paths. @returns {Promise<{ js: string, dts: string }>} */
export async function buildSdk() {
  const js = join(OUT, 'index.js')
  await build({
    entryPoints: [ENTRY],
    outfile: js,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: true,
    logLevel: 'warning',
  })
  const types = join(OUT, 'index.d.ts')
  const bundle = await rollup({
    input: ENTRY,
    plugins: [dts({ compilerOptions: { noEmit: false, declaration: true, emitDeclarationOnly: true, allowJs: false, checkJs: false } })],
    onwarn: (warning, warn) => {
      // Type-only re-exports of dependencies' types are expected to stay imports.
      if (warning.code !== 'UNRESOLVED_IMPORT') warn(warning)
    },
  })
  try {
    await bundle.write({ file: types, format: 'es' })
  } finally {
    await bundle.close()
  }
  return { js, dts: types }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = await buildSdk()
  process.stdout.write(`SDK built: ${out.js}, ${out.dts}\n`)
}
