/** How far from its end a scrolled list still counts as "at the end", in pixels. */
export const FOLLOW_SLACK_PX = 48

export interface ScrollMetrics {
  readonly scrollTop: number
  readonly scrollHeight: number
  readonly clientHeight: number
}

/**
 * Whether a message list follows its end (new text, a growing reply, a
 * shrinking view). Only the user stops it: scrolling up, by wheel, keys or
 * the scroll bar. Content growing or the view resizing never does, since they
 * only move the end away (no scroll event) or clamp the position at the end. Reaching the end, sending a prompt or "Jump to latest" resume it.
 */
export class FollowState {
  private following = true
  private lastTop = 0

  get isFollowing(): boolean {
    return this.following
  }

  /**
   * A scroll event of the list; returns whether following changed. `byUser`: not
   * a move of the virtualiser's own (correcting estimated heights), which must not
   * stop following; any other move up away from the end does (the scroll bar,
   * keys inside a message, find in page, a screen reader, a script).
   */
  scrolled(metrics: ScrollMetrics, byUser: boolean): boolean {
    const before = this.following
    const distance = metrics.scrollHeight - metrics.scrollTop - metrics.clientHeight
    if (distance <= FOLLOW_SLACK_PX) this.following = true
    else if (byUser && metrics.scrollTop < this.lastTop) this.following = false
    this.lastTop = metrics.scrollTop
    return before !== this.following
  }

  /** The user asked to scroll up (wheel up, PageUp, Home, ArrowUp): stop following now, before the next frame pulls back. */
  scrolledUpByUser(): boolean {
    const before = this.following
    this.following = false
    return before
  }

  /** The user sent a prompt or pressed "Jump to latest". */
  resume(): boolean {
    const before = this.following
    this.following = true
    return !before
  }

  /** Where the list was put by us (following); not a move of the user's. */
  placed(scrollTop: number): void {
    this.lastTop = scrollTop
  }
}
