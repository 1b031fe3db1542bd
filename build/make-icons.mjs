// Draws CarHost's icon with Node alone (no network, no image libraries) and writes
// build/icon.png (512x512), build/icon.ico (256x256 PNG inside) and build/icon.icns.
// Run: node build/make-icons.mjs
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { deflateSync } from 'node:zlib'

const here = dirname(fileURLToPath(import.meta.url))

/** RGBA pixels of the icon at `size`: a rounded tile, a hub ring and four agent dots on spokes. */
function draw(size) {
  const px = Buffer.alloc(size * size * 4)
  const s = size / 512
  const c = size / 2
  const inRoundRect = (x, y, margin, radius) => {
    const lo = margin
    const hi = size - margin
    if (x < lo || x >= hi || y < lo || y >= hi) return false
    const cx = Math.min(Math.max(x, lo + radius), hi - radius)
    const cy = Math.min(Math.max(y, lo + radius), hi - radius)
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius ** 2
  }
  const dots = [
    [c, c - 150 * s],
    [c + 150 * s, c],
    [c, c + 150 * s],
    [c - 150 * s, c],
  ]
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 4
      const fx = x + 0.5
      const fy = y + 0.5
      if (!inRoundRect(fx, fy, 24 * s, 96 * s)) continue
      const t = fy / size
      let r = Math.round(22 + 18 * t)
      let g = Math.round(32 + 40 * t)
      let b = Math.round(64 + 90 * t)
      const d = Math.hypot(fx - c, fy - c)
      const onSpoke = (Math.abs(fx - c) < 9 * s || Math.abs(fy - c) < 9 * s) && d > 70 * s && d < 150 * s
      const onRing = d > 56 * s && d < 84 * s
      const inCore = d < 34 * s
      const onDot = dots.some(([dx, dy]) => Math.hypot(fx - dx, fy - dy) < 40 * s)
      if (onRing || inCore || onSpoke) [r, g, b] = [120, 220, 255]
      if (onDot) [r, g, b] = [255, 196, 72]
      px[i] = r
      px[i + 1] = g
      px[i + 2] = b
      px[i + 3] = 255
    }
  }
  return px
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})
function crc32(buf) {
  let c = 0xffffffff
  for (const byte of buf) c = crcTable[(c ^ byte) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}
function chunk(type, data) {
  const head = Buffer.alloc(8)
  head.writeUInt32BE(data.length, 0)
  head.write(type, 4, 'ascii')
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0)
  return Buffer.concat([head, data, crc])
}
function png(size) {
  const rgba = draw(size)
  const raw = Buffer.alloc((size * 4 + 1) * size)
  for (let y = 0; y < size; y++) rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4)
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(size, 0)
  ihdr.writeUInt32BE(size, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 6 // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ])
}
/** An ICO holding one PNG image (Windows Vista and later read PNG entries). */
function ico(image, size) {
  const header = Buffer.alloc(6 + 16)
  header.writeUInt16LE(0, 0)
  header.writeUInt16LE(1, 2) // icon
  header.writeUInt16LE(1, 4) // one image
  header[6] = size >= 256 ? 0 : size
  header[7] = size >= 256 ? 0 : size
  header.writeUInt16LE(1, 10) // planes
  header.writeUInt16LE(32, 12) // bits per pixel
  header.writeUInt32LE(image.length, 14)
  header.writeUInt32LE(header.length, 18)
  return Buffer.concat([header, image])
}
/** An ICNS with PNG entries: ic08 (256), ic09 (512). */
function icns(entries) {
  const parts = entries.map(([type, data]) => {
    const head = Buffer.alloc(8)
    head.write(type, 0, 'ascii')
    head.writeUInt32BE(data.length + 8, 4)
    return Buffer.concat([head, data])
  })
  const body = Buffer.concat(parts)
  const head = Buffer.alloc(8)
  head.write('icns', 0, 'ascii')
  head.writeUInt32BE(body.length + 8, 4)
  return Buffer.concat([head, body])
}

const png512 = png(512)
const png256 = png(256)
writeFileSync(join(here, 'icon.png'), png512)
writeFileSync(join(here, 'icon.ico'), ico(png256, 256))
writeFileSync(join(here, 'icon.icns'), icns([['ic08', png256], ['ic09', png512]]))
console.log('wrote build/icon.png, build/icon.ico, build/icon.icns')
