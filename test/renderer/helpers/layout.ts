/**
 * jsdom lays nothing out: every element is 0 px tall and cannot scroll, so a
 * virtualised list would show nothing. This gives the message list a 600 px
 * view that scrolls over its content (the height the virtualiser sets on it)
 * and every message row 100 px, enough for the virtualiser to pick a window of
 * rows the way a browser would.
 */
export const VIEW_HEIGHT = 600
export const ROW_HEIGHT = 100

const isList = (el: Element) => el.classList.contains('chat__messages')

export function installLayout(): () => void {
  const proto = Element.prototype
  const saved = ['clientHeight', 'scrollHeight', 'scrollTop', 'scrollTo'].map((key) => [key, Object.getOwnPropertyDescriptor(proto, key)] as const)
  const savedOffset = Object.getOwnPropertyDescriptor(HTMLElement.prototype, 'offsetHeight')
  const tops = new WeakMap<Element, number>()
  const contentHeight = (el: Element) => parseFloat((el.firstElementChild as HTMLElement | null)?.style.height ?? '') || 0

  Object.defineProperty(proto, 'clientHeight', {
    configurable: true,
    get(this: Element) {
      return isList(this) ? VIEW_HEIGHT : 0
    },
  })
  Object.defineProperty(proto, 'scrollHeight', {
    configurable: true,
    get(this: Element) {
      return isList(this) ? Math.max(VIEW_HEIGHT, contentHeight(this)) : 0
    },
  })
  Object.defineProperty(proto, 'scrollTop', {
    configurable: true,
    get(this: Element) {
      return tops.get(this) ?? 0
    },
    set(this: Element, value: number) {
      if (!isList(this)) return
      const top = Math.max(0, Math.min(value, this.scrollHeight - VIEW_HEIGHT))
      if (top === (tops.get(this) ?? 0)) return
      tops.set(this, top)
      this.dispatchEvent(new Event('scroll'))
    },
  })
  Object.defineProperty(proto, 'scrollTo', {
    configurable: true,
    value(this: Element, options?: ScrollToOptions) {
      if (options?.top !== undefined) this.scrollTop = options.top
    },
  })
  Object.defineProperty(HTMLElement.prototype, 'offsetHeight', {
    configurable: true,
    get(this: HTMLElement) {
      return this.classList.contains('chat__row') ? ROW_HEIGHT : 0
    },
  })
  return () => {
    for (const [key, descriptor] of saved) {
      if (descriptor) Object.defineProperty(proto, key, descriptor)
      else Reflect.deleteProperty(proto, key)
    }
    if (savedOffset) Object.defineProperty(HTMLElement.prototype, 'offsetHeight', savedOffset)
  }
}
