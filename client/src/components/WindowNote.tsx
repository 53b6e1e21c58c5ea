import { formatClock, formatDayTime, formatMinute } from '../format'

/** Windows this long or longer name days in their "data since". */
const DAY_MS = 86_400_000

interface Props {
  /** Label of the range, e.g. "Last 15 minutes" (shown lower-case). */
  rangeLabel: string
  windowMs: number
  /** Absolute end of the window (epoch ms) while paused; undefined when live (the window ends now). */
  untilMs: number | undefined
  /** The "data since" time to show (epoch ms, from `dataSinceToShow`), or null for none. */
  dataSinceMs: number | null
}

/**
 * What window the figures beside it cover: "last 15 minutes", "· to 14:02:30" while paused (`window-until`), and
 * "· data since 14:01" (`data-since`) when the window starts before the first data, so a young fleet's figures are
 * not read as a quiet quarter of an hour. Inline content (for a heading or a line of text).
 */
export function WindowNote({ rangeLabel, windowMs, untilMs, dataSinceMs }: Props) {
  return (
    <>
      {rangeLabel.toLowerCase()}
      {untilMs !== undefined && (
        <>
          {' · to '}
          <time dateTime={new Date(untilMs).toISOString()} data-testid="window-until">
            {formatClock(untilMs)}
          </time>
        </>
      )}
      {dataSinceMs !== null && (
        <>
          {' · '}
          <span data-testid="data-since">
            data since <time dateTime={new Date(dataSinceMs).toISOString()}>{windowMs >= DAY_MS ? formatDayTime(dataSinceMs) : formatMinute(dataSinceMs)}</time>
          </span>
        </>
      )}
    </>
  )
}
