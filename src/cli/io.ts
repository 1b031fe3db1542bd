/** The streams a command uses; the process's own in `carhost`. */
export interface CliIO {
  stdin: NodeJS.ReadStream
  stdout: NodeJS.WriteStream
  stderr: NodeJS.WriteStream
  /** Subscribes to Ctrl-C; returns the unsubscribe function. */
  onInterrupt(listener: () => void): () => void
}

export function processIO(): CliIO {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    onInterrupt(listener) {
      process.on('SIGINT', listener)
      return () => process.off('SIGINT', listener)
    },
  }
}
