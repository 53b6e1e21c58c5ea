/**
 * The import boundaries of eslint.config.js, proved on code linted in memory as if it sat at a path in the tree
 * (ESLint's `lintText` with a `filePath`), so no bad fixture file sits in the repo for `npm run lint` to trip on.
 * Each case names the rule it expects, so removing or loosening a boundary fails here.
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ESLint, type Linter } from 'eslint'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const eslint = new ESLint({ cwd: ROOT, overrideConfigFile: join(ROOT, 'eslint.config.js') })

const RESTRICTED_IMPORT = '@typescript-eslint/no-restricted-imports'
const RESTRICTED_DYNAMIC_IMPORT = 'no-restricted-syntax'

/** Every message ESLint gives for `code` at `path` (relative to the repo root). */
async function lint(path: string, code: string): Promise<Linter.LintMessage[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, path) })
  if (result === undefined) throw new Error('ESLint returned no result')
  return result.messages
}

/** The rules that reported an error (severity 2). */
async function errorRules(path: string, code: string): Promise<(string | null)[]> {
  return (await lint(path, code)).filter((m) => m.severity === 2).map((m) => m.ruleId)
}

describe('the client takes only types from the server', () => {
  it('fails a value import from server/, at any depth of client/', async () => {
    expect(await errorRules('client/src/x.ts', `import { appRouter } from '../../server/app/router'\nexport const r = appRouter\n`)).toContain(RESTRICTED_IMPORT)
    expect(
      await errorRules('client/src/components/breakers/X.tsx', `import { createCollector } from '../../../../server/sdk/index'\nexport const c = createCollector\n`),
    ).toContain(RESTRICTED_IMPORT)
  })

  it('fails a value re-export, a side-effect import and a dynamic import from server/', async () => {
    expect(await errorRules('client/src/x.ts', `export { appRouter } from '../../server/app/router'\n`)).toContain(RESTRICTED_IMPORT)
    expect(await errorRules('client/src/x.ts', `import '../../server/app/router'\n`)).toContain(RESTRICTED_IMPORT)
    expect(await errorRules('client/src/x.ts', `export const load = () => import('../../server/app/router')\n`)).toContain(RESTRICTED_DYNAMIC_IMPORT)
  })

  it('fails inline type specifiers, which still load the module under verbatimModuleSyntax', async () => {
    expect(await errorRules('client/src/x.ts', `import { type AppRouter } from '../../server/app/router'\nexport type R = AppRouter\n`)).toContain(
      '@typescript-eslint/no-import-type-side-effects',
    )
  })

  it('passes `import type` and `export type` from server/, and value imports from shared/', async () => {
    expect(await lint('client/src/x.ts', `import type { AppRouter } from '../../server/app/router'\nexport type R = AppRouter\n`)).toEqual([])
    expect(await lint('client/src/x.ts', `export type { AppRouter } from '../../server/app/router'\n`)).toEqual([])
    expect(await lint('client/src/pages/X.tsx', `import { NAME_PATTERN } from '../../../shared/vocabulary'\nexport const ok = NAME_PATTERN\n`)).toEqual([])
  })
})

describe('the server never imports the client', () => {
  it('fails an import from client/, a type import included', async () => {
    expect(await errorRules('server/app/x.ts', `import type { Store } from '../../client/src/store'\nexport type S = Store\n`)).toContain(RESTRICTED_IMPORT)
  })
})

describe('shared/ imports nothing from client/ or server/', () => {
  it('fails a value or type import from client/', async () => {
    expect(await errorRules('shared/x.ts', `import { useStore } from '../client/src/store'\nexport const s = useStore\n`)).toContain(RESTRICTED_IMPORT)
    expect(await errorRules('shared/x.ts', `import type { Store } from '../client/src/store'\nexport type S = Store\n`)).toContain(RESTRICTED_IMPORT)
  })

  it('fails a value or type import from server/, at any depth of shared/, tests included', async () => {
    expect(await errorRules('shared/x.ts', `import { createCollector } from '../server/sdk/index'\nexport const c = createCollector\n`)).toContain(RESTRICTED_IMPORT)
    expect(await errorRules('shared/sub/x.ts', `import type { AppRouter } from '../../server/app/router'\nexport type R = AppRouter\n`)).toContain(RESTRICTED_IMPORT)
    expect(await errorRules('shared/x.test.ts', `import { testRedisUrl } from '../server/testing/redis'\nexport const u = testRedisUrl\n`)).toContain(RESTRICTED_IMPORT)
    expect(await errorRules('shared/x.ts', `export const load = () => import('../server/sdk/index')\n`)).toContain(RESTRICTED_DYNAMIC_IMPORT)
  })

  it('fails Node built-ins, with or without the node: prefix, types included', async () => {
    expect(await errorRules('shared/x.ts', `import { readFileSync } from 'node:fs'\nexport const r = readFileSync\n`)).toContain(RESTRICTED_IMPORT)
    expect(await errorRules('shared/x.ts', `import { readFile } from 'fs/promises'\nexport const r = readFile\n`)).toContain(RESTRICTED_IMPORT)
    expect(await errorRules('shared/x.ts', `import type { Buffer } from 'node:buffer'\nexport type B = Buffer\n`)).toContain(RESTRICTED_IMPORT)
    expect(await errorRules('shared/x.ts', `export const load = () => import('node:crypto')\n`)).toContain(RESTRICTED_DYNAMIC_IMPORT)
  })

  it('passes a pure shared module importing shared code and a pure library', async () => {
    const code = `import { decode } from '@msgpack/msgpack'\nimport { NAME_PATTERN } from './vocabulary'\n\nexport function isName(bytes: Uint8Array): boolean {\n  const v = decode(bytes)\n  return typeof v === 'string' && NAME_PATTERN.test(v)\n}\n`
    expect(await lint('shared/x.ts', code)).toEqual([])
  })
})
