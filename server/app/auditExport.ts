/**
 * `GET /api/audit.jsonl?fromMs=&untilMs=&service=`: the audit log as JSON lines (one `AuditExportRow` per line,
 * oldest first), streamed with backpressure, for any signed-in session (viewer or operator; the session cookie, as
 * for /trpc). Bounds are epoch ms, inclusive, both optional; `service` limits it to one service's stream.
 * 400 on a bad query, 401 without a session, 503 when Redis cannot be reached before the first line; an error
 * after the first line ends the response early (the download is then visibly truncated: no final newline).
 */
import type { NextFunction, Request, Response } from 'express'
import { z } from 'zod'
import { Name } from '../../shared/schemas'
import { HTTP_ROUTES, setHttpRoute } from './metrics'
import { exportAudit } from './reads/audit'
import { createContext, type AppDeps } from './trpc'

/** Epoch ms in a query string (2000-01-01 … 2100-01-01). */
const QueryMs = z.coerce.number().int().min(946_684_800_000).max(4_102_444_800_000)

/** The export's query: `fromMs`, `untilMs` (epoch ms, optional, fromMs ≤ untilMs) and `service` (a name). */
export const AuditExportQuery = z
  .object({ fromMs: QueryMs.optional(), untilMs: QueryMs.optional(), service: Name.optional() })
  .refine((q) => q.fromMs === undefined || q.untilMs === undefined || q.fromMs <= q.untilMs, { error: 'fromMs must not be after untilMs' })

/** Resolves when `res` can take more (drain) or is gone (close), so a departed client never leaves us waiting. */
function drained(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done).off('close', done)
      resolve()
    }
    res.on('drain', done).on('close', done)
  })
}

function fail(res: Response, status: number, message: string): void {
  res.status(status).type('application/json').set('Cache-Control', 'no-store').send(JSON.stringify({ error: { message } }))
}

/** The Express handler of the export (see the module comment); an unexpected error goes to Express' error handler. */
export function auditExportHandler(deps: AppDeps): (req: Request, res: Response, next: NextFunction) => void {
  return (req, res, next) => void serveAuditExport(deps, req, res).catch(next)
}

async function serveAuditExport(deps: AppDeps, req: Request, res: Response): Promise<void> {
  setHttpRoute(res, HTTP_ROUTES.auditExport)
  const query = AuditExportQuery.safeParse(req.query)
  if (!query.success) return fail(res, 400, query.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; '))
  let session
  try {
    session = (await createContext(deps, req, res)).session
  } catch {
    return fail(res, 503, 'Cannot reach Redis')
  }
  if (!session) return fail(res, 401, 'Sign in to export the audit log')
  const rows = exportAudit(deps.redis, deps.keys, query.data)
  let first: IteratorResult<unknown>
  try {
    first = await rows.next()
  } catch {
    return fail(res, 503, 'Cannot reach Redis')
  }
  res.status(200).set({
    'Content-Type': 'application/jsonl; charset=utf-8',
    'Content-Disposition': 'attachment; filename="fusebox-audit.jsonl"',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  })
  try {
    for (let r = first; !r.done; r = await rows.next()) {
      if (res.destroyed) break
      if (!res.write(JSON.stringify(r.value) + '\n')) await drained(res)
    }
    res.end()
  } catch (e) {
    console.error('[fusebox] audit export ended early:', e)
    res.destroy()
  }
}
