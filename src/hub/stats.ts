/** The event counters of `hub.stats` (PROTOCOL.md §9); the gauges are read live. */
export interface HubCounters {
  /** Chat events handed to hosts, including tokens later merged and the hub's own terminal events. */
  events_forwarded: number
  /** Token events folded into an earlier one for a lagging host. */
  events_merged: number
  /** Agent events discarded: late, foreign, unknown session or invalid. */
  events_dropped: number
  sessions_expired: number
  /** Hosts disconnected for passing the hard cap on queued data. */
  hosts_overflowed: number
}

export function newCounters(): HubCounters {
  return { events_forwarded: 0, events_merged: 0, events_dropped: 0, sessions_expired: 0, hosts_overflowed: 0 }
}
