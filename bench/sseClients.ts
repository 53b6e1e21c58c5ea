/**
 * Child process of bench/server.ts: opens N SSE subscriptions to `/trpc/live.snapshot` (loopback only), records when
 * each client receives each event id, and prints one JSON line: { clients, events: { [id]: receive times (epoch ms,
 * sub-ms) } } after `durationS`. Bounded in clients and time; exits by itself.
 * argv: <url> <cookie> <clients> <durationS>
 */
const [url, cookie, clientsArg, durationArg] = process.argv.slice(2)
if (!url || !cookie) throw new Error('usage: sseClients.ts <url> <cookie> <clients> <durationS>')
const clients = Math.min(Number(clientsArg ?? 200), 1000)
const durationMs = Math.min(Number(durationArg ?? 10), 60) * 1000
const nowMs = () => performance.timeOrigin + performance.now()
const received: Record<string, number[]> = {}
const controller = new AbortController()
let connected = 0

async function client(): Promise<void> {
  const res = await fetch(url as string, { headers: { accept: 'text/event-stream', cookie: cookie as string }, signal: controller.signal })
  if (!res.ok || !res.body) throw new Error(`SSE ${res.status}`)
  connected++
  const decoder = new TextDecoder()
  let buffer = ''
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    const at = nowMs()
    buffer += decoder.decode(chunk, { stream: true })
    let i: number
    while ((i = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, i)
      buffer = buffer.slice(i + 2)
      const id = /^id: ?(.+)$/m.exec(event)?.[1]
      if (id && /^data:/m.test(event)) (received[id] ??= []).push(at)
    }
  }
}

const all = Array.from({ length: clients }, () => client().catch((e: unknown) => (e instanceof Error && e.name === 'AbortError' ? undefined : Promise.reject(e))))
setTimeout(() => controller.abort(), durationMs)
await Promise.allSettled(all)
process.stdout.write(JSON.stringify({ clients, connected, events: received }) + '\n')
process.exit(0)
export {}
