import { useId } from 'react'
import { getRedisInfo, listInstances, type InstanceDetailData, type RedisHealthData } from '../api'
import { SkeletonBlock } from '../components/shell/PageLoading'
import { PolledTableStates } from '../components/table/PolledTableStates'
import { FocusTable, type FocusColumn } from '../components/table/FocusTable'
import { formatClock, formatMegabytes, formatMs, formatPercent, NO_VALUE } from '../format'
import { pageKey, usePollInterval, useService } from '../uiState'
import { LIVE_POLL_INTERVAL_MS, usePolled } from '../usePolled'

const INTEGER = new Intl.NumberFormat('en-US')
const INSTANCE_COLUMNS: readonly FocusColumn[] = [
  { label: 'Instance' },
  { label: 'Status' },
  { label: 'Version' },
  { label: 'Uptime', num: true },
  { label: 'CPU %', num: true },
  { label: 'Heap', num: true },
  { label: 'RSS', num: true },
  { label: 'Event loop p99', num: true },
  { label: 'Last seen', num: true },
]

/** Formats seconds as the two largest units: `3d 4h`, `5h 12m`, `42m 7s`, `9s`. */
export function formatUptime(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return NO_VALUE
  const s = Math.floor(seconds)
  const d = Math.floor(s / 86_400)
  const h = Math.floor((s % 86_400) / 3_600)
  const m = Math.floor((s % 3_600) / 60)
  if (d > 0) return `${d}d ${h}h`
  if (h > 0) return `${h}h ${m}m`
  if (m > 0) return `${m}m ${s % 60}s`
  return `${s}s`
}

/** Instances: health per instance of the selected service, and the Redis the cluster shares. */
export function InstancesPage() {
  const [service] = useService()
  const interval = usePollInterval(LIVE_POLL_INTERVAL_MS)
  const instances = usePolled<InstanceDetailData[]>(
    (signal) => listInstances({ service: service ?? '' }, { signal }),
    [service],
    interval,
    { pageKey: pageKey('instances', { service }), enabled: service !== null },
  )
  const redis = usePolled<RedisHealthData>((signal) => getRedisInfo({ signal }), [], interval, {
    pageKey: 'redis-info',
    reportAsOf: false,
  })
  const rows = instances.data ?? []
  const up = rows.filter((i) => i.up).length

  return (
    <div className="page-body">
      <div className="page-head">
        <h1>Instances</h1>
        {service && instances.data && (
          <p className="muted small" data-testid="instances-summary">
            {service} · {up}/{rows.length} up
          </p>
        )}
      </div>
      <PolledTableStates
        service={service}
        polled={instances}
        what="instances"
        empty={rows.length === 0}
        emptyText={(s) => `No instance of ${s} has reported.`}
      >
        {(service) => (
          <FocusTable
            testId="instances-table"
            caption={`Instances of ${service}`}
            columns={INSTANCE_COLUMNS}
            rows={rows}
            renderRow={(i, _k, focus) => (
              <tr key={i.instance} data-testid={`instance-row-${i.instance}`} {...focus}>
                <th scope="row" className="mono">
                  {i.instance}
                </th>
                <td>
                  <span className={`pill ${i.up ? 'tone-ok' : 'tone-bad'}`} data-testid={`instance-row-status-${i.instance}`}>
                    {i.up ? 'up' : 'down'}
                  </span>
                </td>
                <td className="mono">{i.version}</td>
                <td className="num">{formatUptime(i.uptimeS)}</td>
                <td className="num">{Number.isFinite(i.cpuPercent) ? i.cpuPercent.toFixed(1) : NO_VALUE}</td>
                <td className="num">{formatMegabytes(i.heapUsedBytes)}</td>
                <td className="num">{formatMegabytes(i.rssBytes)}</td>
                <td className="num">{formatMs(i.eventLoopDelayP99Ms)} ms</td>
                <td className="num">{formatClock(i.lastSeenMs)}</td>
              </tr>
            )}
          />
        )}
      </PolledTableStates>
      <RedisCard redis={redis.data} failed={redis.error !== null && !redis.data} />
    </div>
  )
}

/** Redis health: version, memory, ops/s, keyspace hit ratio, clients, keys, AOF. */
function RedisCard({ redis, failed }: { redis: RedisHealthData | undefined; failed: boolean }) {
  const headingId = useId()
  return (
    <section className="card redis-card" aria-labelledby={headingId} data-testid="redis-card">
      <h2 id={headingId}>Redis {redis && <span className="muted small">v{redis.version} · up {formatUptime(redis.uptimeS)}</span>}</h2>
      {failed ? (
        <p className="error-state" role="alert">
          Could not read Redis health.
        </p>
      ) : !redis ? (
        <SkeletonBlock heightRem={4} label="Loading Redis health…" />
      ) : (
        <dl className="stats">
          <div className="stat">
            <dt>Memory</dt>
            <dd className="stat-value">
              {formatMegabytes(redis.usedMemoryBytes)}
              {redis.maxMemoryBytes > 0 && <span className="muted small"> / {formatMegabytes(redis.maxMemoryBytes)}</span>}
            </dd>
          </div>
          <div className="stat">
            <dt>Ops/s</dt>
            <dd className="stat-value">{INTEGER.format(redis.opsPerSec)}</dd>
          </div>
          <div className="stat">
            <dt>Hit ratio</dt>
            <dd className="stat-value">{redis.keyspaceHitRatio === null ? NO_VALUE : `${formatPercent(redis.keyspaceHitRatio)}%`}</dd>
          </div>
          <div className="stat">
            <dt>Clients</dt>
            <dd className="stat-value">{INTEGER.format(redis.connectedClients)}</dd>
          </div>
          <div className="stat">
            <dt>Keys</dt>
            <dd className="stat-value">{INTEGER.format(redis.keys)}</dd>
          </div>
          <div className="stat">
            <dt>AOF</dt>
            <dd className="stat-value">
              <span className={`pill ${redis.aofEnabled ? 'tone-ok' : 'tone-warn'}`}>{redis.aofEnabled ? 'on' : 'off'}</span>
            </dd>
          </div>
        </dl>
      )}
    </section>
  )
}
