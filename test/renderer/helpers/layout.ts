/**
 * jsdom lays nothing out: every element is 0 px tall, so a virtualised list
 * would show nothing. This gives the message list a 600 px view and every
 * message row 100 px, enough for the virtualiser to pick a window of rows.
 */
export const VIEW_HEIGHT = 600
export const ROW_HEIGHT = 100

export function installLayout(): () => void {
  const proto = HTMLElement.prototype
  const client = Object.getOwnPropertyDescriptor(Element.prototype, 'clientHeight')
  const offset = Object.getOwnPropertyDescriptor(proto, 'offsetHeight')
  Object.defineProperty(Element.prototype, 'clientHeight', {
    configurable: true,
    get(this: Element) {
      return this.classList.contains('chat__messages') ? VIEW_HEIGHT : 0
    },
  })
  Object.defineProperty(proto, 'offsetHeight', {
    configurable: true,
    get(this: HTMLElement) {
      return this.classList.contains('chat__row') ? ROW_HEIGHT : 0
    },
  })
  return () => {
    if (client) Object.defineProperty(Element.prototype, 'clientHeight', client)
    if (offset) Object.defineProperty(proto, 'offsetHeight', offset)
  }
}
