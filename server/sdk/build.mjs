// @ts-check
/**
 * Builds and packs the collector SDK (docs/decisions/021).
 *
 * `buildSdk({ outDir })` writes, from server/sdk/index.ts:
 * - `index.js`: one ES module for Node ≥ 20.19 (esbuild; every npm dependency left as an import),
 * - `index.cjs`: the same as CommonJS, so `require('fusebox-sdk')` works from a CommonJS service,
 * - `index.d.ts` / `index.d.cts`: its types bundled into one file each (rollup-plugin-dts), opossum's types
 *   (@types/opossum, MIT) inlined so consumers need neither @types/opossum nor skipLibCheck, on any
 *   `moduleResolution` (node16/nodenext/bundler).
 * Default `outDir` is `dist-sdk/`, which the repo's own package.json `exports["./sdk"]` points at (`npm run build:sdk`).
 *
 * `packSdk({ destination })` stages the publishable `fusebox-sdk` package — the build above in `dist/`, a package.json
 * generated from packaging/sdk/package.template.json (dependency ranges taken from the root package.json, so they are
 * the ones the lock file tests), packaging/sdk/README.md and CHANGELOG.md, the root LICENSE — and runs `npm pack` on
 * it: `dist-pack/fusebox-sdk-<version>.tgz` by default (`npm run pack`). It throws when the bundle imports a package
 * that is neither a dependency nor a peer dependency of the template, so a new import cannot ship unlisted.
 * Tests: server/sdk/package.test.ts (publint, @arethetypeswrong/cli, contents), server/sdk/tarball.test.ts (installs).
 */
import { build } from 'esbuild'
import { rollup } from 'rollup'
import { dts } from 'rollup-plugin-dts'
import { execFile } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const ENTRY = join(ROOT, 'server/sdk/index.ts')
const PACKAGING = join(ROOT, 'packaging/sdk')
/** Where `npm run pack` puts the tarballs (git-ignored). */
export const DIST_PACK = join(ROOT, 'dist-pack')
/**
 * opossum ships no types; the SDK's public types use @types/opossum's `CircuitBreaker`. They are inlined into the
 * bundled .d.ts (from this ES-module rewrite of @types/opossum's `export =`), so consumers need no @types/opossum.
 */
const OPOSSUM_TYPES = join(ROOT, 'node_modules/@types/opossum/index.d.ts')
/** The MIT notice @types/opossum's license asks copies to keep. */
const OPOSSUM_NOTICE =
  '// CircuitBreaker declarations below are from @types/opossum (https://github.com/DefinitelyTyped/DefinitelyTyped),\n' +
  '// MIT License, Copyright (c) Microsoft Corporation.'

/**
 * Builds the four files into `outDir` (created if missing).
 * @param {{ outDir?: string }} [options] `outDir` default `<repo>/dist-sdk`
 * @returns {Promise<{ js: string, cjs: string, dts: string, dcts: string, imports: string[] }>} file paths, and the
 *   bare package names the bundle imports at run time
 */
export async function buildSdk({ outDir = join(ROOT, 'dist-sdk') } = {}) {
  mkdirSync(outDir, { recursive: true })
  const js = join(outDir, 'index.js')
  const cjs = join(outDir, 'index.cjs')
  /** @type {import('esbuild').BuildOptions} */
  const common = {
    entryPoints: [ENTRY],
    bundle: true,
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: true,
    metafile: true,
    logLevel: 'warning',
  }
  const [esm] = await Promise.all([build({ ...common, outfile: js, format: 'esm' }), build({ ...common, outfile: cjs, format: 'cjs' })])
  const imports = externalImports(esm.metafile)

  const opossumTypes = join(outDir, '.opossum.d.ts')
  const source = readFileSync(OPOSSUM_TYPES, 'utf8')
  if (!/^export = CircuitBreaker;$/m.test(source)) throw new Error(`${OPOSSUM_TYPES}: no "export = CircuitBreaker;" to rewrite`)
  writeFileSync(opossumTypes, source.replace(/^export = CircuitBreaker;$/m, 'export { CircuitBreaker as default };'))
  try {
    const { dts: types, dcts } = await bundleDeclarations({
      input: ENTRY,
      file: join(outDir, 'index.d.ts'),
      plugins: [{ name: 'inline-opossum-types', resolveId: (id) => (id === 'opossum' ? opossumTypes : null) }],
      banner: OPOSSUM_NOTICE,
    })
    return { js, cjs, dts: types, dcts, imports }
  } finally {
    rmSync(opossumTypes, { force: true })
  }
}

/**
 * The packages an esbuild bundle still imports (its external imports, builtins left out), as package names sorted.
 * @param {import('esbuild').Metafile | undefined} metafile
 * @returns {string[]}
 */
export function externalImports(metafile) {
  const builtins = new Set(builtinModules)
  const imports = new Set()
  for (const output of Object.values(metafile?.outputs ?? {})) {
    for (const imp of output.imports) {
      if (!imp.external || imp.path.startsWith('node:') || builtins.has(imp.path)) continue
      const parts = imp.path.split('/')
      imports.add(imp.path.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0])
    }
  }
  return [...imports].sort()
}

/**
 * Builds, stages and packs `fusebox-sdk`.
 * @param {{ destination?: string }} [options] folder for the tarball, default `<repo>/dist-pack`
 * @returns {Promise<{ tarball: string, name: string, version: string, files: string[], sizeBytes: number, unpackedSizeBytes: number }>}
 * @throws {Error} when the bundle imports a package the template does not list, or `npm pack` fails
 */
export async function packSdk({ destination = DIST_PACK } = {}) {
  const rootPkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
  const template = JSON.parse(readFileSync(join(PACKAGING, 'package.template.json'), 'utf8'))
  const stage = mkdtempSync(join(tmpdir(), 'fusebox-sdk-stage-'))
  try {
    const built = await buildSdk({ outDir: join(stage, 'dist') })
    const declared = new Set([...Object.keys(template.dependencies ?? {}), ...Object.keys(template.peerDependencies ?? {})])
    const unlisted = built.imports.filter((name) => !declared.has(name))
    if (unlisted.length > 0) throw new Error(`fusebox-sdk imports ${unlisted.join(', ')}: add them to packaging/sdk/package.template.json`)
    const { $comment: _comment, ...fields } = template
    const pkg = {
      ...fields,
      version: rootPkg.version,
      dependencies: rangesFromRoot(template.dependencies, rootPkg, 'packaging/sdk/package.template.json', { devToo: true }),
      peerDependencies: rangesFromRoot(template.peerDependencies, rootPkg, 'packaging/sdk/package.template.json', { devToo: true }),
    }
    stagePackageFiles(stage, PACKAGING, pkg)

    return { ...(await npmPackStage(stage, destination)), name: pkg.name, version: pkg.version }
  } finally {
    rmSync(stage, { recursive: true, force: true })
  }
}

/**
 * The dependency ranges of a package template, with each `"from-root"` replaced by the root package.json's range (the
 * one package-lock.json resolves and the tests run): `dependencies`, and `devDependencies` too when `devToo`.
 * @param {Record<string, string> | undefined} ranges
 * @param {{ dependencies?: Record<string, string>, devDependencies?: Record<string, string> }} rootPkg
 * @param {string} templatePath named in the error
 * @param {{ devToo?: boolean }} [options]
 * @returns {Record<string, string>}
 * @throws {Error} for a `"from-root"` name the root package.json does not have
 */
export function rangesFromRoot(ranges, rootPkg, templatePath, { devToo = false } = {}) {
  return Object.fromEntries(
    Object.entries(ranges ?? {}).map(([name, range]) => {
      if (range !== 'from-root') return [name, range]
      const fromRoot = rootPkg.dependencies?.[name] ?? (devToo ? rootPkg.devDependencies?.[name] : undefined)
      if (!fromRoot) throw new Error(`${templatePath}: ${name} is "from-root" but not ${devToo ? 'in' : 'a dependency in'} package.json`)
      return [name, fromRoot]
    }),
  )
}

/**
 * Writes a staged package's package.json (`pkg`) and copies its README.md and CHANGELOG.md (from `packagingDir`) and
 * the repo's LICENSE into `stage`.
 * @param {string} stage
 * @param {string} packagingDir
 * @param {object} pkg
 */
export function stagePackageFiles(stage, packagingDir, pkg) {
  writeFileSync(join(stage, 'package.json'), JSON.stringify(pkg, null, 2) + '\n')
  copyFileSync(join(packagingDir, 'README.md'), join(stage, 'README.md'))
  copyFileSync(join(packagingDir, 'CHANGELOG.md'), join(stage, 'CHANGELOG.md'))
  copyFileSync(join(ROOT, 'LICENSE'), join(stage, 'LICENSE'))
}

/**
 * Runs `npm pack` in a staged package folder and moves the tarball to `destination` (created if missing).
 * `--ignore-scripts`: a staged package has none, and the user's npm config must not add any.
 * @param {string} stage
 * @param {string} destination
 * @returns {Promise<{ tarball: string, files: string[], sizeBytes: number, unpackedSizeBytes: number }>}
 * @throws {Error} when `npm pack` fails or prints no report
 */
export async function npmPackStage(stage, destination) {
  mkdirSync(destination, { recursive: true })
  const { stdout } = await promisify(execFile)('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', stage], {
    cwd: stage,
    timeout: 60_000,
  })
  const [report] = /** @type {{ filename: string, size: number, unpackedSize: number, files: { path: string }[] }[]} */ (JSON.parse(stdout))
  if (!report) throw new Error(`npm pack printed no report: ${stdout}`)
  const tarball = join(destination, report.filename)
  try {
    renameSync(join(stage, report.filename), tarball)
  } catch {
    copyFileSync(join(stage, report.filename), tarball) // another file system (tmpdir vs the repo)
  }
  return { tarball, files: report.files.map((f) => f.path).sort(), sizeBytes: report.size, unpackedSizeBytes: report.unpackedSize }
}

/**
 * Bundles the declarations of a TypeScript entry into one `.d.ts` (rollup-plugin-dts) and copies it to the `.d.cts`
 * next to it, as `buildSdk` does for the SDK; used by the dashboard's package build (server/app/build.mjs). Type-only
 * imports of npm packages stay imports; declarations the entry does not export are left out.
 * @param {{ input: string, file: string, plugins?: import('rollup').Plugin[], banner?: string, tsconfig?: string }} options
 *   `file` ends in `.d.ts`; `tsconfig` default: the one rollup-plugin-dts finds from the working directory
 * @returns {Promise<{ dts: string, dcts: string }>}
 */
export async function bundleDeclarations({ input, file, plugins = [], banner, tsconfig }) {
  const compilerOptions = { noEmit: false, declaration: true, emitDeclarationOnly: true, allowJs: false, checkJs: false }
  const bundle = await rollup({
    input,
    plugins: [...plugins, dts({ compilerOptions, ...(tsconfig === undefined ? {} : { tsconfig }) })],
    onwarn: (warning, warn) => {
      // Type-only imports of the dependencies left out of the bundle (ioredis, zod, node:*) stay imports.
      if (warning.code !== 'UNRESOLVED_IMPORT') warn(warning)
    },
  })
  try {
    await bundle.write({ file, format: 'es', ...(banner === undefined ? {} : { banner }) })
  } finally {
    await bundle.close()
  }
  const dcts = file.replace(/\.d\.ts$/, '.d.cts')
  copyFileSync(file, dcts)
  return { dts: file, dcts }
}

const BIN = join(ROOT, 'node_modules/.bin')

/**
 * `publint <tarball> --strict`: its report (stdout), which says "All good!" when there is nothing to fix.
 * @param {string} tarball
 * @returns {Promise<string>}
 * @throws {Error} when publint finds an error (its output in the message)
 */
export async function publintTarball(tarball) {
  const { stdout } = await promisify(execFile)(join(BIN, 'publint'), [tarball, '--strict'], { timeout: 30_000 })
  return stdout
}

/**
 * `@arethetypeswrong/cli <tarball> --format json`: the analysis (attw exits 1 when it finds problems; the report is
 * returned either way).
 * @param {string} tarball
 * @returns {Promise<{ problems: unknown[], entrypoints: Record<string, { resolutions: Record<string, unknown> }> }>}
 */
export async function attwTarball(tarball) {
  const result = await promisify(execFile)(join(BIN, 'attw'), [tarball, '--format', 'json'], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }).catch(
    (/** @type {{ stdout?: string }} */ e) => ({ stdout: e.stdout ?? '' }),
  )
  return JSON.parse(result.stdout).analysis
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--pack')) {
    const out = await packSdk()
    process.stdout.write(`${out.name}@${out.version}: ${out.tarball} (${out.files.length} files, ${out.sizeBytes} bytes)\n`)
  } else {
    const out = await buildSdk()
    process.stdout.write(`SDK built: ${out.js}, ${out.cjs}, ${out.dts}, ${out.dcts}\n`)
  }
}
