// @ts-check
/**
 * `.env` for `npm start` / `npm run dev` (format and variables: .env.example). Only node: built-ins here.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseEnv } from 'node:util'

const ASSIGNMENT = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/

/**
 * Checks every line of a `.env` text: blank, `# comment`, or `[export ]NAME=value` (a value in double, single or
 * back quotes may span lines, as Node's parser allows). Node's own parser skips any other line silently, so a typo
 * such as `PORT 3000` or `FUSEBOX-PREFIX=x` would otherwise go unnoticed.
 * @param {string} text
 * @returns {string[]} one message per bad line ("line N: …"), empty when the text is well formed
 */
export function dotEnvProblems(text) {
  const problems = []
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? ''
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue
    const match = ASSIGNMENT.exec(line)
    if (!match) {
      problems.push(`line ${i + 1}: expected NAME=value (NAME of letters, digits and _), got "${line.trim().slice(0, 60)}"`)
      continue
    }
    const value = (match[2] ?? '').trimStart()
    const quote = value[0]
    if (quote !== '"' && quote !== "'" && quote !== '`') continue
    if (value.indexOf(quote, 1) !== -1) continue
    // An opening quote without its closing one on this line: the value goes on until a line that closes it.
    const start = i
    while (++i < lines.length && !(lines[i] ?? '').includes(quote));
    if (i >= lines.length) problems.push(`line ${start + 1}: the ${quote} quote of ${match[1]} is never closed`)
  }
  return problems
}

/**
 * Loads `<root>/.env` into `env` when the file exists: every variable it sets that `env` does not have yet
 * (a variable already in the environment always wins, even when empty). Parsed by Node's own parser
 * (`util.parseEnv`, the one behind `--env-file` and `process.loadEnvFile`), after dotEnvProblems checked each line.
 * Children started afterwards with `{ ...process.env }` see the loaded variables.
 * @param {string} root  the folder that may hold `.env` (the repository root)
 * @param {NodeJS.ProcessEnv} [env]  where to put the variables (default process.env)
 * @returns {{ path: string, loaded: string[], kept: string[] } | undefined}  undefined when there is no .env;
 *   loaded: names set from the file; kept: names in the file left alone because the environment already had them
 * @throws {Error} when the file cannot be read or a line is malformed: the message names the file and each line
 */
export function loadDotEnv(root, env = process.env) {
  const path = join(root, '.env')
  let text
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    if (/** @type {NodeJS.ErrnoException} */ (error).code === 'ENOENT') return undefined
    throw new Error(`cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`)
  }
  const problems = dotEnvProblems(text)
  if (problems.length > 0) {
    throw new Error(`${path} is malformed (see .env.example):\n  ${problems.join('\n  ')}`)
  }
  const loaded = []
  const kept = []
  for (const [name, value] of Object.entries(parseEnv(text))) {
    if (Object.hasOwn(env, name)) {
      kept.push(name)
    } else {
      env[name] = value
      loaded.push(name)
    }
  }
  return { path, loaded, kept }
}
