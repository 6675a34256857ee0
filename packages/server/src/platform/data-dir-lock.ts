// One process per PGlite data folder: PGlite has no lock of its own, and two processes writing the same files
// (the CLI next to a running server) corrupt them silently.
import { linkSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { StartupError } from './config.js'

export const LOCK_FILE = 'pgdata.lock'

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function holder(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim())
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

/**
 * Takes `dir/pgdata.lock` (holding our pid) or throws a StartupError naming the process that holds it.
 * Returns the release function; the lock is also released when the process exits normally, and a lock left
 * by a killed process is taken over (its pid is no longer alive).
 */
export function lockDataDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true })
  const file = join(dir, LOCK_FILE)
  const temp = `${file}.${process.pid}`
  // Written aside and hard-linked into place: the lock appears atomically with its pid, so a reader never
  // sees an empty lock file.
  writeFileSync(temp, String(process.pid))
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(temp, file)
        break
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err
        const pid = holder(file)
        // Our own pid means a lock left by an earlier life of this pid (a container's pid 1), not a live holder.
        if (pid !== undefined && pid !== process.pid && alive(pid)) {
          throw new StartupError(
            `DATA_DIR ${dir} is in use by another Intelagent process (pid ${pid}); stop it first, or delete ${file} if that process is not Intelagent`,
          )
        }
        rmSync(file, { force: true })
      }
    }
  } finally {
    rmSync(temp, { force: true })
  }
  let held = true
  const release = () => {
    if (!held) return
    held = false
    process.off('exit', release)
    if (holder(file) === process.pid) unlinkSync(file)
  }
  process.on('exit', release)
  return release
}
