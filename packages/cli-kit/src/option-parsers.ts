import { statSync } from 'node:fs'
import { commander } from './commander.js'

/**
 * Option parsers for commander (`.option('--port <port>', '…', portArg('--port'))`): a value
 * that is not what the option wants is a usage error naming the option, what it expects and
 * what it received, before anything starts.
 */

/**
 * A TCP port, 0-65535 (0: a free port).
 *
 * @example
 * cmd.option('-p, --port <port>', 'port to listen on', portArg('--port'), 8080)
 */
export function portArg(flag: string): (v: string) => number {
  return (v) => {
    const n = Number(v)
    if (!/^\d+$/.test(v.trim()) || n > 65535) throw new commander.InvalidArgumentError(`${flag}: expected a port 0-65535, received "${v}"`)
    return n
  }
}

/**
 * A whole number in [min, max].
 *
 * @example
 * cmd.option('--maxlen <n>', 'trim the stream', intArg('--maxlen', 1))
 */
export function intArg(flag: string, min: number, max = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v) => {
    const n = Number(v)
    if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `${min}-${max}`
      throw new commander.InvalidArgumentError(`${flag}: expected an integer ${range}, received "${v}"`)
    }
    return n
  }
}

/**
 * A finite number > 0.
 *
 * @example
 * cmd.option('--speed <x>', 'replay speed factor', positiveNumberArg('--speed'))
 */
export function positiveNumberArg(flag: string): (v: string) => number {
  return (v) => {
    const n = Number(v)
    if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new commander.InvalidArgumentError(`${flag}: expected a number > 0, received "${v}"`)
    return n
  }
}

/**
 * An existing regular file (resolved later by the caller); a directory or a missing path is a
 * usage error.
 *
 * @example
 * cmd.option('--upstream-ca <file>', 'extra PEM roots', fileArg('--upstream-ca'))
 */
export function fileArg(flag: string): (v: string) => string {
  return (v) => {
    let isFile = false
    try {
      isFile = statSync(v).isFile()
    } catch {
      throw new commander.InvalidArgumentError(`${flag}: no such file: ${v}`)
    }
    if (!isFile) throw new commander.InvalidArgumentError(`${flag}: not a file: ${v}`)
    return v
  }
}
