import type { FlowAckMethod } from '../protocol/host-api.js'

// Names only the preload uses; main's share is in src/shared/ipc-channels.ts.

/** Same value as the protocol's `FlowAckMethod`; the type ties the two together. */
export const ACK_METHOD: typeof FlowAckMethod = 'host.ack'
