// Background work started by a request (webhook processing, reply engines) that must not block the answer.
import type { Logger } from './logger.js'

export class Tasks {
  private running = new Set<Promise<unknown>>()
  constructor(private logger: Logger) {}

  run(name: string, fn: () => Promise<unknown>): void {
    const p = fn()
      .catch((err) => this.logger.error('background task failed', { task: name, error: String((err as Error)?.stack ?? err) }))
      .finally(() => this.running.delete(p))
    this.running.add(p)
  }

  /** Resolves once every task (including ones started meanwhile) has settled: tests and shutdown use it. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running])
  }
}
