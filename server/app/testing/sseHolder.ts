/**
 * Child-process entry for sseLoad.test.ts: holds many live SSE streams (`live.snapshot`) open against a server on
 * loopback, reading and discarding what arrives, so that the test's own process does none of that work. Bounded:
 * at most 1,000 streams; exits when its parent goes away.
 *
 * argv: `<url> <cookies (JSON array)> <streamsPerCookie>`. IPC, parent → child: `{ type: 'report' }`; child →
 * parent: an `SseHolderReport` with `type: 'report'`.
 */
import { exitWithParent } from '../../bootstrap/children.mjs'

/** What the holder saw so far. */
export interface SseHolderReport {
  /** Streams asked for. */
  opened: number
  /** Streams that started (a data event arrived) and have not ended. */
  live: number
  /** Streams refused or failed, by HTTP status (the first `serialized-error`'s status for a 200 stream) or `error`. */
  refused: Record<string, number>
  /** Streams that ended after they had started. */
  ended: number
  /** Data events received, all streams together. */
  events: number
}

const MAX_STREAMS = 1000
const [url, cookiesArg, perCookieArg] = process.argv.slice(2)
if (!url || !cookiesArg || !perCookieArg) throw new Error('usage: sseHolder.ts <url> <cookies JSON> <streamsPerCookie>')
const cookies = JSON.parse(cookiesArg) as string[]
const perCookie = Number(perCookieArg)
const report: SseHolderReport = { opened: 0, live: 0, refused: {}, ended: 0, events: 0 }
const controller = new AbortController()

function refuse(why: string): void {
  report.refused[why] = (report.refused[why] ?? 0) + 1
}

async function hold(cookie: string): Promise<void> {
  report.opened++
  let started = false
  try {
    const res = await fetch(url!, { headers: { accept: 'text/event-stream', cookie }, signal: controller.signal })
    if (res.status !== 200 || !res.body) return refuse(String(res.status))
    const decoder = new TextDecoder()
    let buffer = ''
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true })
      let i: number
      while ((i = buffer.indexOf('\n\n')) >= 0) {
        const event = buffer.slice(0, i)
        buffer = buffer.slice(i + 2)
        const error = /^event: serialized-error\r?\ndata: (.*)$/m.exec(event)
        if (error) {
          const status = (JSON.parse(error[1]!) as { data?: { httpStatus?: number } }).data?.httpStatus
          if (!started) return refuse(String(status ?? 'error'))
          continue
        }
        if (/^data:/m.test(event) && !/^event: /m.test(event)) {
          if (!started) {
            started = true
            report.live++
          }
          report.events++
        }
      }
    }
  } catch (e) {
    if (!controller.signal.aborted && !started) refuse('error')
    if (!controller.signal.aborted) console.error(`[sse-holder] ${e instanceof Error ? e.message : String(e)}`)
  }
  if (started) {
    report.live--
    report.ended++
  }
}

const streams = cookies.flatMap((cookie) => Array.from({ length: perCookie }, () => cookie)).slice(0, MAX_STREAMS)
for (const cookie of streams) void hold(cookie)

process.on('message', (m: { type?: string }) => {
  if (m?.type === 'report') process.send?.({ type: 'report', ...report })
})
exitWithParent(() => controller.abort())
