/**
 * An LRU cache of row windows for a server-paged virtual table: rows are fetched in fixed-size windows
 * (`offset = floor(row / size) × size`) and at most `capacity` windows are kept, least recently used dropped first.
 */

/** Offset of the window holding `row`. */
export function windowOffset(row: number, size: number): number {
  return Math.floor(Math.max(0, row) / size) * size
}

/** Offsets of the windows covering rows [first, first + count), ascending. */
export function windowsForRange(first: number, count: number, size: number, total: number): number[] {
  if (count <= 0 || total <= 0) return []
  const last = Math.min(first + count, total) - 1
  const out: number[] = []
  for (let o = windowOffset(first, size); o <= last; o += size) out.push(o)
  return out
}

export class WindowCache<T> {
  private readonly windows = new Map<number, T[]>()

  constructor(
    readonly size: number,
    readonly capacity: number,
  ) {}

  /** Number of windows held. */
  get length(): number {
    return this.windows.size
  }

  /** Whether the window at `offset` is cached (does not count as a use). */
  has(offset: number): boolean {
    return this.windows.has(offset)
  }

  /** Stores the rows of the window at `offset`, evicting the least recently used windows beyond capacity. */
  set(offset: number, rows: T[]): void {
    this.windows.delete(offset)
    this.windows.set(offset, rows)
    while (this.windows.size > this.capacity) {
      const oldest = this.windows.keys().next()
      if (oldest.done) break
      this.windows.delete(oldest.value)
    }
  }

  /** The rows of the window at `offset`, marking it most recently used; undefined when not cached. */
  getWindow(offset: number): T[] | undefined {
    const rows = this.windows.get(offset)
    if (rows === undefined) return undefined
    this.windows.delete(offset)
    this.windows.set(offset, rows)
    return rows
  }

  /** Row `index`, or undefined when its window is not cached (or the window came back short). */
  row(index: number): T | undefined {
    const offset = windowOffset(index, this.size)
    return this.windows.get(offset)?.[index - offset]
  }

  /** Offsets currently cached, least recently used first. */
  offsets(): number[] {
    return [...this.windows.keys()]
  }

  /** Forgets the window at `offset`. */
  delete(offset: number): void {
    this.windows.delete(offset)
  }

  clear(): void {
    this.windows.clear()
  }
}
