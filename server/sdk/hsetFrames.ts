/**
 * HSET commands as prebuilt RESP frames (docs/decisions/009): the writer's values are encoded straight into one
 * arena buffer as `*n $4 HSET $k key $f field $v value …`, and each frame is queued as an ioredis `Command` whose
 * `toWritable()` returns it, instead of ioredis converting 2,000 arguments. The arena is reused only after the
 * previous flush was answered (so no frame can still be waiting in the socket); after a failed or timed-out flush a
 * new one is taken. Not for a client with a `keyPrefix` (ioredis would not apply it to a prebuilt frame).
 */
import { Command } from 'ioredis'
import { ownSeriesField } from '../../shared/keys'
import { encodePacked, type EncodableSeries } from './seriesEncoder'

/**
 * A command whose RESP frame was built by the caller; ioredis queues and answers it like any other (its one
 * argument, the key, serves slot and key lookups), but writes `frame` as is (ioredis `Command.toWritable`).
 */
class PrebuiltCommand extends Command {
  constructor(name: string, key: string, private readonly frame: Buffer) {
    super(name, [key])
  }

  override toWritable(): Buffer {
    return this.frame
  }
}

const CRLF_0 = 0x0d
const CRLF_1 = 0x0a
/** Longest `$<len>\r\n` of a packed value: values stay under 100,000 bytes (`maxEncodedLength` ≤ ~10 KB). */
const VALUE_HEADER_MAX = 8

/** Writes a RESP header (`*<n>\r\n` or `$<n>\r\n`) at `o`; returns the end offset. */
function writeRespHeader(out: Buffer, o: number, type: 0x2a | 0x24, n: number): number {
  out[o++] = type
  o += out.write(String(n), o, 'latin1')
  out[o++] = CRLF_0
  out[o++] = CRLF_1
  return o
}

/** Builds the HSET frames of one writer (one process's own fields: `ownTag`); one flush at a time. */
export class HsetFrames {
  private readonly fieldHeads = new Map<string, Buffer>()
  /** Where HSET frames are built (see `reserve`), and the bytes of it used by the flush being planned. */
  private arena = Buffer.allocUnsafe(64 * 1024)
  private arenaUsed = 0

  /** @param ownTag `<instance>#<boot id>`: names this process's own fields (shared/keys.ts `ownSeriesField`). */
  constructor(private readonly ownTag: string) {}

  /**
   * Call once the flush whose frames were built is over: `ok` when it was answered (the arena is reused), false when
   * it failed or timed out (its frames may still sit in the socket's buffer: a new arena is taken).
   */
  settled(ok: boolean): void {
    if (!ok && this.arenaUsed > 0) this.arena = Buffer.allocUnsafe(this.arena.length)
    this.arenaUsed = 0
  }

  /**
   * `HSET <key> <own field> <value> …` for `fields` (own fields of this process) and their `values`, as one queued
   * command whose RESP frame is written into the arena (values encoded in place, no per-value allocation).
   */
  hset(key: string, fields: readonly string[], values: readonly EncodableSeries[]): Command {
    const keyLen = Buffer.byteLength(key)
    let start = this.reserve(0, 0, 32 + keyLen)
    let o = writeRespHeader(this.arena, start, 0x2a, 2 + 2 * fields.length)
    o += this.arena.write('$4\r\nHSET\r\n', o, 'latin1')
    o = writeRespHeader(this.arena, o, 0x24, keyLen)
    o += this.arena.write(key, o, 'utf8')
    this.arena[o++] = CRLF_0
    this.arena[o++] = CRLF_1
    for (let i = 0; i < fields.length; i++) {
      const head = this.fieldHead(fields[i] as string)
      const acc = values[i] as EncodableSeries
      const need = head.length + VALUE_HEADER_MAX + acc.maxEncodedLength() + 2
      if (this.arena.length - o < need) {
        const moved = this.reserve(start, o, need)
        o = moved + (o - start)
        start = moved
      }
      const arena = this.arena
      o += head.copy(arena, o)
      // Encode after room for the longest header, then close the gap once the length is known.
      const at = o + VALUE_HEADER_MAX
      let end = acc.encodeInto(arena, at)
      if (end < 0) {
        const bytes = encodePacked(acc.toPacked())
        arena.set(bytes, at)
        end = at + bytes.length
      }
      const len = end - at
      o = writeRespHeader(arena, o, 0x24, len)
      if (o !== at) arena.copyWithin(o, at, end)
      o += len
      arena[o++] = CRLF_0
      arena[o++] = CRLF_1
    }
    this.arenaUsed = o
    return new PrebuiltCommand('hset', key, this.arena.subarray(start, o))
  }

  /**
   * Makes room for `need` more bytes after the frame being built at `[start, end)` of the arena and returns the
   * frame's (possibly new) start. The arena is reused from flush to flush once the previous flush was answered
   * (so every frame written from it has left the process); otherwise, or when it is too small, a new one is taken
   * and the partial frame copied over.
   */
  private reserve(start: number, end: number, need: number): number {
    if (end === 0 && start === 0) {
      // A new frame: starts where the previous frame of this flush ended.
      if (this.arena.length - this.arenaUsed >= need) return this.arenaUsed
      this.arena = Buffer.allocUnsafe(Math.max(need, this.arena.length * 2))
      this.arenaUsed = 0
      return 0
    }
    const next = Buffer.allocUnsafe(Math.max(this.arena.length * 2, end - start + need))
    this.arena.copy(next, 0, start, end)
    this.arena = next
    return 0
  }

  /** `$<len>\r\n<own field>\r\n` of a series (cached; the cache is dropped when it outgrows 4× a normal size). */
  private fieldHead(field: string): Buffer {
    let head = this.fieldHeads.get(field)
    if (head === undefined) {
      if (this.fieldHeads.size >= 20_000) this.fieldHeads.clear()
      const name = Buffer.from(ownSeriesField(field, this.ownTag), 'utf8')
      head = Buffer.concat([Buffer.from(`$${name.length}\r\n`, 'latin1'), name, Buffer.from('\r\n', 'latin1')])
      this.fieldHeads.set(field, head)
    }
    return head
  }
}
