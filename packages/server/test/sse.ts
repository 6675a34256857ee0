// Reads a Server-Sent Events response in tests: everything received so far, waiting until a condition holds.
export class StreamReader {
  text = ''
  /** True once the server ended the stream. */
  ended = false
  private reader: ReadableStreamDefaultReader<Uint8Array>
  private decoder = new TextDecoder()

  constructor(res: Response) {
    if (!res.body) throw new Error('response has no body to stream')
    this.reader = res.body.getReader()
  }

  /** Reads until `done(text)` holds or `ms` pass; resolves with the text either way (assert on it). */
  async until(done: (text: string) => boolean, ms = 5000): Promise<string> {
    const deadline = Date.now() + ms
    while (!done(this.text) && Date.now() < deadline) {
      const next = await Promise.race([this.reader.read(), new Promise<null>((r) => setTimeout(() => r(null), Math.max(0, deadline - Date.now())))])
      if (next?.done) this.ended = true
      if (!next || next.done) break
      this.text += this.decoder.decode(next.value, { stream: true })
    }
    return this.text
  }

  /** Everything that arrives within `ms`. */
  for(ms: number): Promise<string> {
    return this.until(() => false, ms)
  }

  async close(): Promise<void> {
    await this.reader.cancel().catch(() => {})
  }
}
