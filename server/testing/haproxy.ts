/**
 * A real HAProxy (Debian 12's `haproxy` 2.6; npm test installs it) in front of dashboard servers, for tests: it runs
 * docs/haproxy.cfg — the documented configuration, unchanged — on a free loopback port, with the file's variables
 * pointing at the given servers and its runtime API on a socket in a temp folder (issue #13, decision 030). Every
 * request HAProxy logs (`option httplog` on stdout) is parsed and kept, so a test can say which server answered what;
 * the runtime API drains, readies and reports servers (`show stat`).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { spawnChild } from '../bootstrap/children.mjs'
import { findFreePort } from '../bootstrap/redis.mjs'

/** The documented configuration (docs/haproxy.cfg), which `startHaproxy` runs by default. */
export const HAPROXY_CONFIG = fileURLToPath(new URL('../../docs/haproxy.cfg', import.meta.url))

/** How long `startHaproxy` waits for the config check, the listener and every server's first health check, ms. */
const READY_TIMEOUT_MS = 20_000
/** How long one runtime-API command may take, ms. */
const ADMIN_TIMEOUT_MS = 5000
/** Log lines kept (a test of a few thousand requests fits; older lines are dropped first). */
const MAX_LOG_LINES = 50_000

/** One request as HAProxy's default HTTP log format (`option httplog`) records it, when it ended. */
export interface HttpLogLine {
  /** When HAProxy received the request (`%tr`, local time to the ms, read as epoch ms in this process's time zone). */
  startedAtMs: number
  /** When this process read the line (epoch ms): the request ended at most a pipe's delay before. */
  receivedAtMs: number
  /** The client's address and port (`127.0.0.1:50412`). */
  client: string
  backend: string
  /** The server that answered, or `<NOSRV>` when none was chosen (no server up, or an error before). */
  server: string
  /** HTTP status sent to the client; -1 when none was (the client went away first). */
  status: number
  /** `%tsc`: termination state, 4 characters (`----` = normal end; `SD--` the server closed a stream mid-way). */
  termination: string
  /** Retries (`%rc`; `+` in front means a redispatch to another server happened: see `redispatched`). */
  retries: number
  redispatched: boolean
  method: string
  /** Path and query as sent (`/trpc/auth.login`). */
  uri: string
  /** The whole line. */
  raw: string
}

// %ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r
const HTTPLOG =
  /^(\S+) \[([^\]]+)\] \S+ ([^/\s]+)\/(\S+) \S+ (-?\d+) \+?\d+ \S+ \S+ (\S{4}) \d+\/\d+\/\d+\/\d+\/(\+?)(\d+) \d+\/\d+ "(\S+) (\S+)/

/** Parses one line of HAProxy's default HTTP log format; undefined for anything else (warnings, alerts). */
export function parseHttpLogLine(raw: string, receivedAtMs = Date.now()): HttpLogLine | undefined {
  const m = HTTPLOG.exec(raw)
  if (!m) return undefined
  return {
    startedAtMs: parseLogDate(m[2]!),
    receivedAtMs,
    client: m[1]!,
    backend: m[3]!,
    server: m[4]!,
    status: Number(m[5]),
    termination: m[6]!,
    redispatched: m[7] === '+',
    retries: Number(m[8]),
    method: m[9]!,
    uri: m[10]!,
    raw,
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** `02/Dec/2026:00:40:00.123` (HAProxy's `%tr`, local time) → epoch ms; NaN when it does not look so. */
function parseLogDate(text: string): number {
  const m = /^(\d{2})\/(\w{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2})\.(\d{3})$/.exec(text)
  if (!m) return Number.NaN
  return new Date(Number(m[3]), MONTHS.indexOf(m[2]!), Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]), Number(m[7])).getTime()
}

/** One server of `show stat` (HAProxy's CSV statistics), with the figures tests use. */
export interface ServerStat {
  backend: string
  /** The server's name in the config (`fusebox1`). */
  name: string
  /** `UP`, `DOWN`, `DRAIN`, `MAINT`, or a transition such as `UP 1/2` (one of the `fall` misses seen). */
  status: string
  /** Times the load balancer chose this server (`lbtot`). */
  chosen: number
  /** Responses by class (`hrsp_2xx` …), and connection errors (`econ`). */
  responses2xx: number
  responses4xx: number
  responses5xx: number
  connectionErrors: number
  /** The last health check's result (`L7OK`, `L4CON` …; `INI` or a leading `*` while the first is pending). */
  checkStatus: string
}

/** A running HAProxy. */
export interface Haproxy {
  /** `http://127.0.0.1:<port>`, the frontend (no trailing slash). */
  url: string
  /** The server names of the config's backend, in order (`fusebox1`, `fusebox2`): the i-th runs `servers[i]`. */
  serverNames: string[]
  /** Every request logged so far, oldest first (a copy). */
  requests(): HttpLogLine[]
  /**
   * Resolves with the first logged request (from now or the past) matching `match`.
   * @throws Error after `timeoutMs` (default 10 s), with the last lines HAProxy printed
   */
  waitForRequest(match: (line: HttpLogLine) => boolean, timeoutMs?: number): Promise<HttpLogLine>
  /**
   * Sends one command to the runtime API (`show stat`, `set server b/s state drain`) and returns its answer.
   * @throws Error when the socket refuses or the answer takes longer than 5 s
   */
  admin(command: string): Promise<string>
  /** Every server of the backend as `show stat` reports it now. */
  serverStats(): Promise<ServerStat[]>
  /** `set server <backend>/<name> state <state>`: `drain` takes it out of the rotation, `ready` puts it back. */
  setServerState(name: string, state: 'ready' | 'drain' | 'maint'): Promise<void>
  /**
   * Polls `show stat` (every 100 ms) until server `name`'s status is `status` exactly.
   * @returns how long that took, ms
   * @throws Error after `timeoutMs`, with the status last seen
   */
  waitForServerStatus(name: string, status: string, timeoutMs: number): Promise<number>
  /** The last lines HAProxy printed that are not request logs (alerts, warnings, server state changes). */
  notices(): string[]
  /** Stops HAProxy (SIGTERM: an immediate stop, every connection closed) and deletes its temp folder. Safe twice. */
  stop(): Promise<void>
}

/** What `startHaproxy` runs. */
export interface HaproxyOptions {
  /** `host:port` of each dashboard server, in the order of the config's `server` lines (FUSEBOX_SERVER_1, _2, …). */
  servers: string[]
  /** The config to run (default HAPROXY_CONFIG); it must read its servers from FUSEBOX_SERVER_<n>. */
  configFile?: string
}

/** Reads `show stat`'s CSV into objects keyed by the header's names. */
function parseStatCsv(csv: string): Record<string, string>[] {
  const lines = csv.split('\n').filter((l) => l.length > 0)
  const header = lines[0]?.replace(/^# /, '').split(',') ?? []
  return lines.slice(1).map((line) => {
    const cells = line.split(',')
    return Object.fromEntries(header.map((h, i) => [h, cells[i] ?? '']))
  })
}

/**
 * Starts HAProxy with `options.configFile` (default docs/haproxy.cfg) on `127.0.0.1:<free port>`: first
 * `haproxy -c` (a bad config fails with HAProxy's own message), then `haproxy -db` under the orphan guard
 * (server/bootstrap/children.mjs), and waits until the frontend accepts connections and every server has passed or
 * failed its first health check (no server left in the initial state).
 * @throws Error when `haproxy` is missing (Debian package `haproxy`), the config has a different number of
 *   FUSEBOX_SERVER_<n> than `servers`, the check fails, or HAProxy is not ready within 20 s
 */
export async function startHaproxy(options: HaproxyOptions): Promise<Haproxy> {
  const configFile = options.configFile ?? HAPROXY_CONFIG
  const declared = new Set([...readFileSync(configFile, 'utf8').matchAll(/\$\{FUSEBOX_SERVER_(\d+)/g)].map((m) => m[1]))
  if (declared.size !== options.servers.length) {
    throw new Error(`${configFile} declares ${declared.size} servers (FUSEBOX_SERVER_<n>), ${options.servers.length} given`)
  }
  const dir = mkdtempSync(join(tmpdir(), 'fusebox-haproxy-'))
  const socket = join(dir, 'admin.sock')
  const port = await findFreePort()
  const env: NodeJS.ProcessEnv = { ...process.env, FUSEBOX_LB_BIND: `127.0.0.1:${port}`, FUSEBOX_LB_ADMIN_SOCKET: socket }
  options.servers.forEach((address, i) => (env[`FUSEBOX_SERVER_${i + 1}`] = address))

  const check = spawnChild('haproxy -c', 'haproxy', ['-c', '-f', configFile], { env, quiet: true })
  const checked = await check.exited
  if (checked.code !== 0) {
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`haproxy -c -f ${configFile} failed (${checked.code ?? checked.signal}; is the Debian package haproxy installed?): ${check.recentOutput()}`)
  }

  const log: HttpLogLine[] = []
  const notices: string[] = []
  const child = spawnChild('haproxy', 'haproxy', ['-db', '-f', configFile], {
    env,
    // Every line passes here; none is printed (a test prints what it needs on failure).
    hideLine: (raw) => {
      const line = parseHttpLogLine(raw)
      if (line) {
        log.push(line)
        if (log.length > MAX_LOG_LINES) log.shift()
      } else {
        notices.push(raw)
        if (notices.length > 200) notices.shift()
      }
      return true
    },
  })
  const lastOutput = (): string => notices.slice(-20).join('\n')

  const admin = async (command: string): Promise<string> =>
    new Promise<string>((resolve, reject) => {
      const conn = connect(socket)
      let answer = ''
      const timer = setTimeout(() => {
        conn.destroy()
        reject(new Error(`haproxy runtime API: "${command}" not answered within ${ADMIN_TIMEOUT_MS} ms`))
      }, ADMIN_TIMEOUT_MS)
      conn.setEncoding('utf8')
      conn.on('data', (d: string) => (answer += d))
      conn.on('error', (e) => {
        clearTimeout(timer)
        reject(e)
      })
      // Without `prompt` the API answers one command and closes the connection.
      conn.on('close', () => {
        clearTimeout(timer)
        resolve(answer)
      })
      conn.write(`${command}\n`)
    })

  const serverStats = async (): Promise<ServerStat[]> =>
    parseStatCsv(await admin('show stat'))
      .filter((r) => r.svname !== 'FRONTEND' && r.svname !== 'BACKEND' && r.type === '2')
      .map((r) => ({
        backend: r.pxname ?? '',
        name: r.svname ?? '',
        status: r.status ?? '',
        chosen: Number(r.lbtot),
        responses2xx: Number(r.hrsp_2xx),
        responses4xx: Number(r.hrsp_4xx),
        responses5xx: Number(r.hrsp_5xx),
        connectionErrors: Number(r.econ),
        checkStatus: r.check_status ?? '',
      }))

  let stopped: Promise<void> | undefined
  const stop = (): Promise<void> =>
    (stopped ??= child
      .stop('SIGTERM', 3000)
      .then(() => undefined)
      .finally(() => rmSync(dir, { recursive: true, force: true })))

  let stats: ServerStat[] = []
  try {
    const deadline = Date.now() + READY_TIMEOUT_MS
    for (;;) {
      if (!child.isRunning()) throw new Error(`haproxy exited before it was ready: ${lastOutput()}`)
      try {
        stats = await serverStats()
        // Before its first check a server is reported with the check status `INI` (a leading `*` while one runs).
        const checked = (s: ServerStat): boolean => s.checkStatus !== '' && !s.checkStatus.startsWith('INI') && !s.checkStatus.startsWith('*')
        if (stats.length === options.servers.length && stats.every(checked)) break
      } catch {
        // the socket is not there yet
      }
      if (Date.now() > deadline) throw new Error(`haproxy not ready within ${READY_TIMEOUT_MS} ms (servers: ${JSON.stringify(stats)}): ${lastOutput()}`)
      await sleep(100)
    }
  } catch (e) {
    await stop()
    throw e
  }
  const backend = stats[0]!.backend
  const serverNames = stats.map((s) => s.name)

  return {
    url: `http://127.0.0.1:${port}`,
    serverNames,
    requests: () => [...log],
    async waitForRequest(match, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const found = log.find(match)
        if (found) return found
        if (Date.now() > deadline) throw new Error(`no such request in HAProxy's log within ${timeoutMs} ms; last lines:\n${log.slice(-15).map((l) => l.raw).join('\n')}`)
        await sleep(50)
      }
    },
    admin,
    serverStats,
    async setServerState(name, state) {
      const answer = await admin(`set server ${backend}/${name} state ${state}`)
      if (answer.trim() !== '') throw new Error(`set server ${backend}/${name} state ${state}: ${answer.trim()}`)
    },
    async waitForServerStatus(name, status, timeoutMs) {
      const startedMs = Date.now()
      let seen = ''
      for (;;) {
        seen = (await serverStats()).find((s) => s.name === name)?.status ?? '(no such server)'
        if (seen === status) return Date.now() - startedMs
        if (Date.now() - startedMs > timeoutMs) throw new Error(`${name} still ${seen} after ${timeoutMs} ms (wanted ${status}): ${lastOutput()}`)
        await sleep(100)
      }
    },
    notices: () => [...notices],
    stop,
  }
}
