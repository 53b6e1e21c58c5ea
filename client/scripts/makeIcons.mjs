#!/usr/bin/env node
/**
 * Writes the PWA icons (client/public/icons/icon-192.png, icon-512.png, icon-maskable-512.png): an amber
 * lightning bolt on a dark square. Dependency-free on purpose (node:zlib for the PNG deflate stream), so the
 * icons can be regenerated anywhere without native image libraries. Run: `node client/scripts/makeIcons.mjs`.
 */
import { deflateSync } from 'node:zlib'
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const OUT_DIR = fileURLToPath(new URL('../public/icons/', import.meta.url))
const BACKGROUND = [0x0f, 0x14, 0x19]
const GLYPH = [0xf5, 0xa5, 0x24]
/** @typedef {[number, number]} Point */

/** Bolt outline in a unit square (x right, y down); same shape as public/favicon.svg. @type {Point[]} */
const BOLT = [
  [0.46, 0.06], [0.7, 0.06], [0.5, 0.4], [0.72, 0.4], [0.32, 0.94], [0.44, 0.54], [0.26, 0.54],
]
/** Subsamples per pixel axis for anti-aliasing (4 × 4 = 16 samples). */
const SUPERSAMPLE = 4

/**
 * Even-odd point-in-polygon test.
 * @param {number} x
 * @param {number} y
 * @param {Point[]} poly
 */
function inPolygon(x, y, poly) {
  let inside = false
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = /** @type {Point} */ (poly[i])
    const [xj, yj] = /** @type {Point} */ (poly[j])
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside
  }
  return inside
}

/**
 * Whether (x, y) in the unit square lies inside a square with rounded corners of radius r.
 * @param {number} x
 * @param {number} y
 * @param {number} r
 */
function inRoundedSquare(x, y, r) {
  const cx = Math.min(Math.max(x, r), 1 - r)
  const cy = Math.min(Math.max(y, r), 1 - r)
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r
}

/**
 * Renders one icon as RGBA rows.
 * @param {number} size pixel width and height
 * @param {{ cornerRadius: number, glyphScale: number }} opts cornerRadius 0 = full bleed (maskable);
 *   glyphScale shrinks the bolt around the centre (maskable icons keep it inside the 80 % safe zone)
 */
function render(size, { cornerRadius, glyphScale }) {
  const poly = BOLT.map(([x, y]) => /** @type {Point} */ ([0.5 + (x - 0.5) * glyphScale, 0.5 + (y - 0.5) * glyphScale]))
  const rgba = Buffer.alloc(size * size * 4)
  const n = SUPERSAMPLE * SUPERSAMPLE
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let bg = 0
      let glyph = 0
      for (let sy = 0; sy < SUPERSAMPLE; sy++) {
        for (let sx = 0; sx < SUPERSAMPLE; sx++) {
          const x = (px + (sx + 0.5) / SUPERSAMPLE) / size
          const y = (py + (sy + 0.5) / SUPERSAMPLE) / size
          if (cornerRadius === 0 || inRoundedSquare(x, y, cornerRadius)) {
            bg++
            if (inPolygon(x, y, poly)) glyph++
          }
        }
      }
      const o = (py * size + px) * 4
      const g = bg === 0 ? 0 : glyph / bg
      for (let c = 0; c < 3; c++) rgba[o + c] = Math.round((BACKGROUND[c] ?? 0) * (1 - g) + (GLYPH[c] ?? 0) * g)
      rgba[o + 3] = Math.round((bg / n) * 255)
    }
  }
  return rgba
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})

/** @param {Buffer} buf */
function crc32(buf) {
  let c = 0xffffffff
  for (const b of buf) c = (CRC_TABLE[(c ^ b) & 0xff] ?? 0) ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

/**
 * One PNG chunk: length, type, data, CRC of type + data.
 * @param {string} type
 * @param {Buffer} data
 */
function chunk(type, data) {
  const len = Buffer.alloc(4)
  len.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([len, body, crc])
}

/**
 * Encodes RGBA pixels as a PNG (colour type 6, 8 bits, filter 0 on every row).
 * @param {number} size
 * @param {Buffer} rgba
 */
function encodePng(size, rgba) {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(size, 0)
  ihdr.writeUInt32BE(size, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 6 // RGBA
  const stride = size * 4
  const raw = Buffer.alloc((stride + 1) * size)
  for (let y = 0; y < size; y++) rgba.copy(raw, y * (stride + 1) + 1, y * stride, (y + 1) * stride)
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

const ICONS = [
  { file: 'icon-192.png', size: 192, cornerRadius: 0.18, glyphScale: 0.86 },
  { file: 'icon-512.png', size: 512, cornerRadius: 0.18, glyphScale: 0.86 },
  { file: 'icon-maskable-512.png', size: 512, cornerRadius: 0, glyphScale: 0.62 },
]

mkdirSync(OUT_DIR, { recursive: true })
for (const { file, size, ...opts } of ICONS) {
  writeFileSync(OUT_DIR + file, encodePng(size, render(size, opts)))
  console.log(`wrote ${file} (${size}×${size})`)
}
