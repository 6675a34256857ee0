import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { StartupError } from './config.js'
import { LOCK_FILE, lockDataDir } from './data-dir-lock.js'

const dir = () => mkdtempSync(join(tmpdir(), 'intl-lock-'))

/** The pid of a process that has already exited: what a SIGKILLed server leaves behind. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''])
  await new Promise((resolve) => child.once('exit', resolve))
  return child.pid as number
}

describe('DATA_DIR lock', () => {
  it('holds our pid while taken and is gone once released', () => {
    const d = dir()
    const release = lockDataDir(d)
    expect(readFileSync(join(d, LOCK_FILE), 'utf8')).toBe(String(process.pid))
    release()
    expect(existsSync(join(d, LOCK_FILE))).toBe(false)
  })

  it('refuses a folder whose lock belongs to a live process, naming it', async () => {
    const d = dir()
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'])
    try {
      writeFileSync(join(d, LOCK_FILE), String(holder.pid))
      expect(() => lockDataDir(d)).toThrow(StartupError)
      expect(() => lockDataDir(d)).toThrow(new RegExp(`in use by another Intelagent process \\(pid ${holder.pid}\\)`))
      // The refused attempt leaves the holder's lock alone.
      expect(readFileSync(join(d, LOCK_FILE), 'utf8')).toBe(String(holder.pid))
    } finally {
      holder.kill('SIGKILL')
    }
  })

  it('takes over a lock left by a process that died, and never deletes a lock it does not hold', async () => {
    const d = dir()
    writeFileSync(join(d, LOCK_FILE), String(await deadPid()))
    const release = lockDataDir(d)
    expect(readFileSync(join(d, LOCK_FILE), 'utf8')).toBe(String(process.pid))
    writeFileSync(join(d, LOCK_FILE), '999999999')
    release()
    expect(readFileSync(join(d, LOCK_FILE), 'utf8')).toBe('999999999')
  })
})
