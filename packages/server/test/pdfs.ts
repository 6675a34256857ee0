// Real PDFs made by the tests (pdf-lib): pages of text, pages that are only a picture (a scan), a password-locked
// file and damaged ones, so PDF reading is tested on the structures readers meet rather than on fixtures.
import { createHash } from 'node:crypto'
import { crc32, deflateSync } from 'node:zlib'
import { PDFDocument, PDFHexString, StandardFonts } from 'pdf-lib'

/** A page of a made PDF: a heading line and lines of text, or a picture with no text layer. */
export type PageSpec = { lines: string[] } | { image: true }

/** A grey PNG, as a scanner would produce (smaller): what an image-only page shows. */
export function png(width = 120, height = 160): Uint8Array {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4)
    len.writeUInt32BE(data.length)
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(body))
    return Buffer.concat([len, body, crc])
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(width, 0)
  header.writeUInt32BE(height, 4)
  header.set([8, 0, 0, 0, 0], 8) // 8-bit greyscale
  const rows = Buffer.alloc((width + 1) * height)
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) rows[y * (width + 1) + 1 + x] = (x * 7 + y * 3) % 256
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

/** A PDF of the given pages (A4), with `title` in its metadata when given. */
export async function makePdf(pages: readonly PageSpec[], options: { title?: string } = {}): Promise<Uint8Array> {
  const doc = await PDFDocument.create()
  if (options.title) doc.setTitle(options.title)
  const font = await doc.embedFont(StandardFonts.Helvetica)
  const image = pages.some((p) => 'image' in p) ? await doc.embedPng(png()) : null
  for (const spec of pages) {
    const page = doc.addPage([595, 842])
    if ('image' in spec) page.drawImage(image as NonNullable<typeof image>, { x: 40, y: 60, width: 515, height: 740 })
    else {
      const [heading = '', ...body] = spec.lines
      page.drawText(heading, { x: 50, y: 780, size: 18, font })
      body.forEach((line, i) => {
        page.drawText(line, { x: 50, y: 740 - i * 16, size: 11, font })
      })
    }
  }
  return doc.save()
}

/** A PDF locked with a user password: its trailer names a standard security handler whose check fails without one. */
export async function lockedPdf(): Promise<Uint8Array> {
  const doc = await PDFDocument.create()
  doc.addPage().drawText('Confidential price list', { font: await doc.embedFont(StandardFonts.Helvetica) })
  const hex = (byte: string, n: number) => PDFHexString.of(byte.repeat(n))
  doc.context.trailerInfo.Encrypt = doc.context.obj({ Filter: 'Standard', V: 1, R: 2, O: hex('a1', 32), U: hex('b2', 32), P: -4 })
  doc.context.trailerInfo.ID = doc.context.obj([hex('c3', 16), hex('c3', 16)])
  return doc.save({ useObjectStreams: false })
}

/** RC4, the cipher of the PDF 1.3 standard security handler (revision 2). */
function rc4(key: Uint8Array, data: Uint8Array): Uint8Array {
  const s = Array.from({ length: 256 }, (_, i) => i)
  for (let i = 0, j = 0; i < 256; i++) {
    j = (j + (s[i] as number) + (key[i % key.length] as number)) % 256
    ;[s[i], s[j]] = [s[j] as number, s[i] as number]
  }
  const out = new Uint8Array(data.length)
  for (let n = 0, i = 0, j = 0; n < data.length; n++) {
    i = (i + 1) % 256
    j = (j + (s[i] as number)) % 256
    ;[s[i], s[j]] = [s[j] as number, s[i] as number]
    out[n] = (data[n] as number) ^ (s[((s[i] as number) + (s[j] as number)) % 256] as number)
  }
  return out
}

/**
 * A PDF encrypted with an empty user password (only an owner password restricting printing or copying, as many
 * published PDFs are): readers open it without asking. Its U entry is computed as the standard handler does
 * (revision 2), so the empty password checks out; its content is not actually enciphered (only opening is tested).
 */
export async function restrictedPdf(): Promise<Uint8Array> {
  const PAD = Buffer.from('28bf4e5e4e758a4164004e56fffa01082e2e00b6d0683e802f0ca9fe6453697a', 'hex')
  const O = Buffer.alloc(32, 0x5a)
  const id = Buffer.alloc(16, 0x42)
  const p = -44 // printing and copying not allowed
  const pBytes = Buffer.alloc(4)
  pBytes.writeInt32LE(p)
  const key = createHash('md5')
    .update(Buffer.concat([PAD, O, pBytes, id]))
    .digest()
    .subarray(0, 5)
  const doc = await PDFDocument.create()
  doc.addPage()
  doc.context.trailerInfo.Encrypt = doc.context.obj({
    Filter: 'Standard',
    V: 1,
    R: 2,
    O: PDFHexString.of(O.toString('hex')),
    U: PDFHexString.of(Buffer.from(rc4(key, PAD)).toString('hex')),
    P: p,
  })
  doc.context.trailerInfo.ID = doc.context.obj([PDFHexString.of(id.toString('hex')), PDFHexString.of(id.toString('hex'))])
  return doc.save({ useObjectStreams: false })
}

export const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64')

/** Lines of prose about one topic, long enough to be worth indexing. */
export const prose = (topic: string, n = 6): string[] =>
  Array.from({ length: n }, (_, i) => `${topic} note ${i + 1} explains one more detail of ${topic.toLowerCase()} for customers.`)
