import { useEffect, useState, type RefObject } from 'react'

/**
 * How far outside the viewport (CSS margin, px) a chart starts drawing: far enough that scrolling at reading speed
 * finds it drawn, near enough that a phone's first screen does not draw the charts below it (decision 042).
 */
export const IN_VIEW_MARGIN = '200px 0px'

/**
 * Whether the element in `ref` has come within `IN_VIEW_MARGIN` of the viewport at least once since it mounted
 * (an `IntersectionObserver`); latched: once true it stays true, so a drawn chart is never torn down by scrolling
 * past it. True at once where `IntersectionObserver` does not exist (an old browser, a unit test without a DOM),
 * so the fallback is today's behaviour: draw everything.
 */
export function useSeenInView(ref: RefObject<Element | null>): boolean {
  const [seen, setSeen] = useState(() => typeof IntersectionObserver === 'undefined')
  useEffect(() => {
    const el = ref.current
    if (seen || !el) return
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) {
          setSeen(true)
          observer.disconnect()
        }
      },
      { rootMargin: IN_VIEW_MARGIN },
    )
    observer.observe(el)
    return () => observer.disconnect()
  }, [ref, seen])
  return seen
}
