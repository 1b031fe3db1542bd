/** `carhost` exit codes. */
export const ExitCode = {
  Ok: 0,
  /** The chat ended with an error, or the hub answered a request with one. */
  Failed: 1,
  Usage: 2,
  /** No hub found, its files unreadable, cannot connect, the token was refused, or the hub went away. */
  Unreachable: 3,
  /** Ctrl-C during a chat (128 + SIGINT); `watch` is meant to end with Ctrl-C and exits 0. */
  Interrupted: 130,
} as const

/** An error that ends the CLI with a given exit code and a one-line message. */
export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message)
    this.name = 'CliError'
  }
}
