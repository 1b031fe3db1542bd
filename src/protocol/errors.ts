/** JSON-RPC error codes of PROTOCOL.md section 9. */
export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  NotAuthenticated: -32001,
  Forbidden: -32003,
  AckTimeout: -32004,
  UnknownAgent: -32010,
  AgentUnavailable: -32011,
  SessionInFlight: -32012,
  ConversationBusy: -32013,
  UnknownConversation: -32014,
  UnknownProvider: -32015,
} as const

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

export interface RpcErrorObject {
  code: number
  message: string
  data?: unknown
}

/** An error that travels as a JSON-RPC error object. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message)
    this.name = 'RpcError'
  }

  toJSON(): RpcErrorObject {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data }
  }

  static from(error: RpcErrorObject): RpcError {
    return new RpcError(error.code, error.message, error.data)
  }
}
