// @ts-check
/**
 * Builds and packs the `fusebox-dashboard` package (docs/decisions/023); the SDK's counterpart is
 * server/sdk/build.mjs (`packSdk`, docs/decisions/021), whose staging pattern this follows.
 *
 * `packDashboard({ destination })` stages, in a temp folder:
 * - `public/`: the PWA, `vite build` of client/ (vite.config.ts, output redirected here; the repo's `dist/` is untouched),
 * - `dist/cli.js`: the `fusebox` bin — server/app/cli.ts and everything it imports (main.ts, the tRPC server, shared/)
 *   bundled by esbuild into one plain ES module for Node ≥ 20.19, so no TypeScript and no tsx at run time; every npm
 *   package stays an import (a dependency of the package: none has native parts, users get their patch releases)
 *   except those in BUNDLED (their licenses in THIRD-PARTY-NOTICES.md),
 * - `dist/index.js` / `dist/index.cjs` and `dist/fastify.js` / `dist/fastify.cjs`: the mount API (docs/decisions/025) —
 *   `createDashboard` and `fuseboxExpress` from `fusebox-dashboard`, `fuseboxFastify` from `fusebox-dashboard/fastify` —
 *   one server bundle per module format (esbuild, the same externals as the bin) that the subpath re-exports, with
 *   bundled declarations per entry point (`.d.ts` / `.d.cts`, rollup-plugin-dts): only `./fastify`'s import Fastify's
 *   types, so an Express app type-checks without Fastify installed; `fastify/package.json` points resolvers that
 *   ignore `exports` (TypeScript's node10) at the subpath,
 * - a package.json generated from packaging/dashboard/package.template.json (ranges `"from-root"` taken from the root
 *   package.json, the ones package-lock.json resolves and the tests run), packaging/dashboard/README.md and
 *   CHANGELOG.md, the root LICENSE,
 * and runs `npm pack` on it: `dist-pack/fusebox-dashboard-<version>.tgz` by default (`npm run pack`). It throws when the
 * bundle imports a package the template does not list as a dependency, so a new import cannot ship unlisted.
 * Test: server/app/dashboardTarball.test.ts (installs the tarball outside the repo and runs `npx fusebox`).
 */
import { build } from 'esbuild'
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { bundleDeclarations, DIST_PACK, externalImports, npmPackStage, rangesFromRoot, stagePackageFiles } from '../sdk/build.mjs'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const ENTRY = join(ROOT, 'server/app/cli.ts')
const PACKAGING = join(ROOT, 'packaging/dashboard')
const VITE_BIN = join(ROOT, 'node_modules/vite/bin/vite.js')
/**
 * npm packages bundled into dist/cli.js instead of installed, with the reason. `@trpc/server` declares TypeScript a
 * required peer dependency (for its types, which a compiled server never reads), so installing it would pull
 * TypeScript (≈ 50 MB) into every dashboard install; it is plain JS with no dependencies of its own. Their license
 * texts go to THIRD-PARTY-NOTICES.md in the package.
 */
const BUNDLED = ['@trpc/server']
/**
 * The mount API's one bundle (dist/index.*; resolved from server/app/): `./fastify` re-exports from it, so both entry
 * points share one module state. `fuseboxFastify` is in it too (it imports nothing from Fastify at run time).
 */
const LIBRARY_SOURCE = "export { createDashboard } from './dashboard'\nexport { fuseboxExpress, fuseboxFastify } from './mount'\n"
/** The declarations of each entry point (`{app}`: server/app/); only `fastify` names Fastify's types. */
const LIBRARY_ENTRIES = [
  {
    name: 'index',
    types:
      "export { createDashboard, type Authenticate, type ClusterSeedsOption, type Dashboard, type DashboardOptions, type DashboardRedis, type RequestHandler, type TokenList } from '{app}/dashboard'\n" +
      "export { fuseboxExpress, type ExpressRequestLike, type FuseboxExpressHandler, type FuseboxExpressOptions } from '{app}/mount'\n" +
      "export type { HostUser } from '{app}/auth'\n",
  },
  {
    name: 'fastify',
    types:
      "export { fuseboxFastify, type FuseboxFastifyOptions } from '{app}/mount'\n" +
      "export type { Authenticate, ClusterSeedsOption, DashboardOptions, DashboardRedis, TokenList } from '{app}/dashboard'\nexport type { HostUser } from '{app}/auth'\n",
  },
]

/**
 * Bundles the bin into `outDir/cli.js` (created if missing).
 * @param {{ outDir: string, version: string }} options `version` is what `fusebox --version` prints
 * @returns {Promise<{ cli: string, imports: string[], bundled: string[] }>} the bundle's path, the bare package names it
 *   imports at run time, and the npm packages inlined into it (a subset of BUNDLED)
 * @throws {Error} when it would inline an npm package that is not in BUNDLED
 */
export async function buildDashboardServer({ outDir, version }) {
  mkdirSync(outDir, { recursive: true })
  const cli = join(outDir, 'cli.js')
  const rootPkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
  // Every npm package of the repo stays an import, except BUNDLED (esbuild's `external` covers subpaths too).
  const external = [...Object.keys(rootPkg.dependencies ?? {}), ...Object.keys(rootPkg.devDependencies ?? {})].filter((name) => !BUNDLED.includes(name))
  const result = await build({
    entryPoints: [ENTRY],
    outfile: cli,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    external,
    banner: { js: '#!/usr/bin/env node' },
    define: { FUSEBOX_PACKAGE_VERSION: JSON.stringify(version) },
    metafile: true,
    logLevel: 'warning',
  })
  const imports = externalImports(result.metafile)
  // Only BUNDLED packages may be inlined: anything else from node_modules would ship without its license or updates.
  const inlined = new Set()
  for (const input of Object.keys(result.metafile?.inputs ?? {})) {
    const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)
    if (m) inlined.add(m[1])
  }
  const unexpected = [...inlined].filter((name) => !BUNDLED.includes(name))
  if (unexpected.length > 0) throw new Error(`fusebox-dashboard would bundle ${unexpected.join(', ')}: list them in package.json dependencies or in BUNDLED`)
  return { cli, imports, bundled: [...inlined].sort() }
}

/**
 * Builds the mount API into `outDir` (see the module comment): `index.js`, `index.cjs`, `fastify.js`, `fastify.cjs`
 * and a `.d.ts` + `.d.cts` per entry.
 * @param {{ outDir: string, version: string }} options
 * @returns {Promise<{ files: string[], imports: string[] }>} the files written (relative to `outDir`) and the bare package
 *   names the bundle imports at run time
 * @throws {Error} when it would inline an npm package that is not in BUNDLED
 */
export async function buildDashboardLibrary({ outDir, version }) {
  mkdirSync(outDir, { recursive: true })
  const rootPkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
  const external = [...Object.keys(rootPkg.dependencies ?? {}), ...Object.keys(rootPkg.devDependencies ?? {})].filter((name) => !BUNDLED.includes(name))
  /** @type {import('esbuild').BuildOptions} */
  const common = {
    stdin: { contents: LIBRARY_SOURCE, resolveDir: join(ROOT, 'server/app'), sourcefile: 'index.ts', loader: 'ts' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    external,
    metafile: true,
    logLevel: 'warning',
  }
  const define = { FUSEBOX_PACKAGE_VERSION: JSON.stringify(version) }
  const [esm] = await Promise.all([
    build({ ...common, outfile: join(outDir, 'index.js'), format: 'esm', define }),
    // CommonJS has no import.meta: the module's own URL (dashboard.ts finds the PWA next to it) comes from __filename.
    build({
      ...common,
      outfile: join(outDir, 'index.cjs'),
      format: 'cjs',
      define: { ...define, 'import.meta.url': '__fuseboxModuleUrl' },
      banner: { js: 'const __fuseboxModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
    }),
  ])
  const inlined = [...Object.keys(esm.metafile?.inputs ?? {})]
    .map((input) => /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1])
    .filter((name) => name !== undefined && !BUNDLED.includes(name))
  if (inlined.length > 0) throw new Error(`fusebox-dashboard would bundle ${[...new Set(inlined)].join(', ')}: list them in package.json dependencies or in BUNDLED`)
  const imports = externalImports(esm.metafile)
  writeFileSync(join(outDir, 'fastify.js'), "export { fuseboxFastify } from './index.js'\n")
  writeFileSync(join(outDir, 'fastify.cjs'), "'use strict'\nexports.fuseboxFastify = require('./index.cjs').fuseboxFastify\n")
  // Declaration entries in a temp folder, importing the sources by absolute path (resolved with the repo's tsconfig).
  const entriesDir = mkdtempSync(join(tmpdir(), 'fusebox-dashboard-types-'))
  try {
    for (const entry of LIBRARY_ENTRIES) {
      const input = join(entriesDir, `${entry.name}.ts`)
      writeFileSync(input, entry.types.replaceAll('{app}', join(ROOT, 'server/app')))
      await bundleDeclarations({ input, file: join(outDir, `${entry.name}.d.ts`), tsconfig: join(ROOT, 'tsconfig.json') })
    }
  } finally {
    rmSync(entriesDir, { recursive: true, force: true })
  }
  const files = LIBRARY_ENTRIES.flatMap((e) => [`${e.name}.js`, `${e.name}.cjs`, `${e.name}.d.ts`, `${e.name}.d.cts`]).sort()
  return { files, imports }
}

/**
 * Builds the PWA into `outDir` with the repo's vite.config.ts (a child `vite build` in production mode, ≈ 4 s).
 * @param {{ outDir: string }} options
 * @throws {Error} with vite's output when the build fails
 */
export async function buildDashboardClient({ outDir }) {
  await run(process.execPath, [VITE_BIN, 'build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], {
    cwd: ROOT,
    // A production build even when called from a test (vitest sets NODE_ENV=test, which vite would honour).
    env: { ...process.env, NODE_ENV: 'production' },
    timeout: 120_000,
    maxBuffer: 16 * 1024 * 1024,
  })
}

/**
 * Builds, stages and packs `fusebox-dashboard`.
 * @param {{ destination?: string }} [options] folder for the tarball, default `<repo>/dist-pack`
 * @returns {Promise<{ tarball: string, name: string, version: string, files: string[], sizeBytes: number, unpackedSizeBytes: number }>}
 * @throws {Error} when the bundle imports a package the template does not list, or vite / `npm pack` fail
 */
export async function packDashboard({ destination = DIST_PACK } = {}) {
  const rootPkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
  const template = JSON.parse(readFileSync(join(PACKAGING, 'package.template.json'), 'utf8'))
  const stage = mkdtempSync(join(tmpdir(), 'fusebox-dashboard-stage-'))
  try {
    const [built, library] = await Promise.all([
      buildDashboardServer({ outDir: join(stage, 'dist'), version: rootPkg.version }),
      buildDashboardLibrary({ outDir: join(stage, 'dist'), version: rootPkg.version }),
      buildDashboardClient({ outDir: join(stage, 'public') }),
    ])
    // For resolvers that ignore `exports` (TypeScript's node10): `fusebox-dashboard/fastify` is this folder.
    mkdirSync(join(stage, 'fastify'))
    writeFileSync(join(stage, 'fastify', 'package.json'), JSON.stringify({ main: '../dist/fastify.cjs', types: '../dist/fastify.d.cts' }, null, 2) + '\n')
    const declared = new Set(Object.keys(template.dependencies ?? {}))
    const unlisted = [...new Set([...built.imports, ...library.imports])].filter((name) => !declared.has(name))
    if (unlisted.length > 0) throw new Error(`fusebox-dashboard imports ${unlisted.join(', ')}: add them to packaging/dashboard/package.template.json`)
    const dependencies = rangesFromRoot(template.dependencies, rootPkg, 'packaging/dashboard/package.template.json')
    const { $comment: _comment, ...fields } = template
    const pkg = { ...fields, version: rootPkg.version, dependencies }
    stagePackageFiles(stage, PACKAGING, pkg)
    const notices = built.bundled.map((name) => {
      const dir = join(ROOT, 'node_modules', name)
      const { version, license } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
      return `## ${name} ${version} (${license})\n\n${readFileSync(join(dir, 'LICENSE'), 'utf8').trim()}\n`
    })
    writeFileSync(
      join(stage, 'THIRD-PARTY-NOTICES.md'),
      `# Third-party notices\n\ndist/cli.js includes these packages (server/app/build.mjs BUNDLED):\n\n${notices.join('\n')}`,
    )

    return { ...(await npmPackStage(stage, destination)), name: pkg.name, version: pkg.version }
  } finally {
    rmSync(stage, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = await packDashboard()
  process.stdout.write(`${out.name}@${out.version}: ${out.tarball} (${out.files.length} files, ${out.sizeBytes} bytes)\n`)
}
