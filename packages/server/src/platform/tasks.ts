// Background work started by a request (webhook processing, reply engines) that must not block the answer.
import type { Logger } from './logger.js'

export class Tasks {
  /** Each running task and its name (shutdown logs the names of the ones it had to cut). */
  private running = new Map<Promise<unknown>, string>()
  constructor(private logger: Logger) {}

  run(name: string, fn: () => Promise<unknown>): void {
    const p = fn()
      .catch((err) => this.logger.error('background task failed', { task: name, error: String((err as Error)?.stack ?? err) }))
      .finally(() => this.running.delete(p))
    this.running.set(p, name)
  }

  /** Resolves once every task (including ones started meanwhile) has settled: tests and shutdown use it. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.keys()])
  }

  /** Names of the tasks still running. */
  pending(): string[] {
    return [...this.running.values()]
  }
}
