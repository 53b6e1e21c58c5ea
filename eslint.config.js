// @ts-check
/**
 * ESLint flat config: typescript-eslint recommended for all code, React hooks rules for the dashboard, and the
 * import boundaries of the three parts (docs/PRODUCT.md "The three parts"): dependencies point
 * `client → shared ← server`, the client takes only types from the server, and `shared/` is pure — nothing from
 * `client/` or `server/`, no Node built-ins. server/testing/lintBoundaries.test.ts proves each boundary fails lint.
 */
import { builtinModules } from 'node:module'
import js from '@eslint/js'
import reactHooks from 'eslint-plugin-react-hooks'
import tseslint from 'typescript-eslint'

/**
 * Relative specifiers that climb into the repo's top-level `server/` or `client/` folder (`../server/…`,
 * `../../../client/…`), whatever the importing file's depth. The parts import each other only relatively (no path
 * aliases), so this catches every cross-part import.
 */
const INTO_SERVER = String.raw`^(\.\.\/)+server(\/|$)`
const INTO_CLIENT = String.raw`^(\.\.\/)+client(\/|$)`
const INTO_CLIENT_OR_SERVER = String.raw`^(\.\.\/)+(client|server)(\/|$)`

const CLIENT_MESSAGE =
  'The client takes only types from server/ (`import type`): a value import would bundle server code into the dashboard. Shared values live in shared/.'
const SERVER_MESSAGE = 'server/ never imports from client/: dependencies point client → shared ← server.'
const SHARED_MESSAGE = 'shared/ imports nothing from client/ or server/ (types included): both sides depend on it, never the reverse.'
const SHARED_NODE_MESSAGE = 'shared/ is pure and runs in the browser too: no Node built-ins (pass values in instead).'

/**
 * A no-restricted-syntax entry for `import('…')` of a specifier matching `regex` (no-restricted-imports sees only
 * static imports and re-exports).
 * @param {string} regex
 * @param {string} message
 */
function dynamicImportOf(regex, message) {
  return { selector: `ImportExpression[source.value=/${regex}/]`, message }
}

export default tseslint.config(
  { ignores: ['dist/', 'dist-sdk/', 'node_modules/', '.fusebox/', 'test-results/', 'playwright-report/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // Undefined names are caught by tsc (checkJs covers the .mjs bootstrap too), with real environment types.
      'no-undef': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      // Under verbatimModuleSyntax `import { type A } from 'x'` still loads `x` at run time; `import type` does not.
      '@typescript-eslint/no-import-type-side-effects': 'error',
    },
  },
  {
    files: ['client/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: reactHooks.configs.recommended.rules,
  },
  {
    files: ['client/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ regex: INTO_SERVER, allowTypeImports: true, message: CLIENT_MESSAGE }] },
      ],
      'no-restricted-syntax': ['error', dynamicImportOf(INTO_SERVER, CLIENT_MESSAGE)],
    },
  },
  {
    files: ['server/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ regex: INTO_CLIENT, message: SERVER_MESSAGE }] }],
      'no-restricted-syntax': ['error', dynamicImportOf(INTO_CLIENT, SERVER_MESSAGE)],
    },
  },
  {
    files: ['shared/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: builtinModules.map((name) => ({ name, message: SHARED_NODE_MESSAGE })),
          patterns: [
            { regex: INTO_CLIENT_OR_SERVER, message: SHARED_MESSAGE },
            { regex: '^node:', message: SHARED_NODE_MESSAGE },
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        dynamicImportOf(INTO_CLIENT_OR_SERVER, SHARED_MESSAGE),
        dynamicImportOf('^node:', SHARED_NODE_MESSAGE),
      ],
    },
  },
)
