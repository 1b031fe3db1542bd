import type { FlowAckMethod } from '../protocol/host-api.js'

// Names only the preload uses; main's share is in src/shared/ipc-channels.ts.

/** Requests the preload answers itself instead of forwarding them to the hub. */
export const PreloadMethod = {
  newWindow: 'app.newWindow',
} as const

/** Same value as the protocol's `FlowAckMethod`; the type ties the two together. */
export const ACK_METHOD: typeof FlowAckMethod = 'host.ack'
