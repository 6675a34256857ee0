// Sections of a page into chunks of a few hundred words that overlap, so a fact cut at a chunk's end is whole in
// the next one. A chunk never spans two sections: each keeps its page title, heading path and URL.
import { countWords, type Section } from './extract.js'

export interface Chunk {
  position: number
  /** "Pricing > Plans" */
  headingPath: string
  text: string
  /** The section's URL fragment ('' when it has none). */
  anchor: string
}

export interface ChunkOptions {
  /** Words per chunk, about (default 220). */
  targetWords?: number
  /** Words repeated from the end of one chunk at the start of the next (default 40). */
  overlapWords?: number
}

export const HEADING_SEPARATOR = ' > '

/** Sentences (or, for a run-on sentence, word windows) of one section, in order. */
function pieces(text: string, target: number): string[] {
  const out: string[] = []
  for (const paragraph of text.split(/\n\s*\n/)) {
    const sentences = paragraph.match(/[^.!?]+(?:[.!?]+["')\]]*|$)\s*/g) ?? [paragraph]
    for (const raw of sentences) {
      const s = raw.trim()
      if (!s) continue
      const words = s.split(/\s+/)
      if (words.length <= target) out.push(s)
      else for (let i = 0; i < words.length; i += target) out.push(words.slice(i, i + target).join(' '))
    }
  }
  return out
}

export function chunkSections(sections: readonly Section[], options: ChunkOptions = {}): Chunk[] {
  const target = options.targetWords ?? 220
  const overlap = Math.min(options.overlapWords ?? 40, Math.floor(target / 2))
  const chunks: Chunk[] = []
  for (const section of sections) {
    const headingPath = section.headings.join(HEADING_SEPARATOR)
    let current: string[] = []
    let words = 0
    const emit = () => {
      if (current.length) chunks.push({ position: chunks.length, headingPath, text: current.join(' '), anchor: section.anchor ?? '' })
    }
    for (const piece of pieces(section.text, target)) {
      const n = countWords(piece)
      if (words > 0 && words + n > target) {
        emit()
        // Carry the last sentences (up to `overlap` words) into the next chunk.
        const carried: string[] = []
        let carriedWords = 0
        for (let i = current.length - 1; i >= 0; i--) {
          const w = countWords(current[i] as string)
          if (carriedWords + w > overlap) break
          carried.unshift(current[i] as string)
          carriedWords += w
        }
        current = carried
        words = carriedWords
      }
      current.push(piece)
      words += n
    }
    emit()
  }
  return chunks
}
