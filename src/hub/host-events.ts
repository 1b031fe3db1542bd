import type { Clock } from '../base/clock.js'
import type { HostEvent } from '../protocol/agent-info.js'
import { HostNotification } from '../protocol/host-api.js'
import { approximateJsonSize } from '../protocol/json-size.js'
import { notification } from '../protocol/jsonrpc.js'
import type { HostConnection } from './host-connection.js'

/** `host.event` notifications (PROTOCOL.md §4): one sequence, sent to every subscribed host. */
export class HostEventBus {
  private sequence = 0

  constructor(
    private readonly clock: Clock,
    private readonly hosts: ReadonlyMap<string, HostConnection>,
  ) {}

  get lastSequence(): number {
    return this.sequence
  }

  emit(kind: string, agentId: string | null, message: string, payload: Record<string, unknown> = {}): HostEvent {
    const sequence = ++this.sequence
    const event: HostEvent = {
      id: `evt-${sequence}`,
      sequence,
      timestamp: new Date(this.clock.now()).toISOString(),
      kind,
      agent_id: agentId,
      message,
      payload,
    }
    const frame = notification(HostNotification.hostEvent, event)
    const size = approximateJsonSize(frame)
    for (const host of this.hosts.values()) if (host.subscribed) host.outbox.push(frame, size)
    return event
  }
}
