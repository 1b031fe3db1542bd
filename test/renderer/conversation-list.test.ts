import { describe, expect, it } from 'vitest'
import type { Conversation } from '../../src/protocol/conversations.js'
import { ConversationListStore } from '../../src/renderer/src/model/conversation-list.js'

function conv(id: string, minute: number, fields: Partial<Conversation> = {}): Conversation {
  const at = new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString()
  return { conversation_id: id, title: id, agent_id: 'echo', created_at: at, updated_at: at, message_count: 2, busy: false, ...fields }
}

const ids = (store: ConversationListStore) => store.getSnapshot().items.map((c) => c.conversation_id)

describe('ConversationListStore', () => {
  it('lists newest first and appends the next page at its cursor', () => {
    const store = new ConversationListStore()
    store.resetFirstPage({ conversations: [conv('c9', 9), conv('c8', 8)], next_cursor: 'p2' })
    expect(ids(store)).toEqual(['c9', 'c8'])
    expect(store.beginMore()).toBe('p2')
    // One page at a time.
    expect(store.beginMore()).toBeNull()
    expect(store.getSnapshot().loadingMore).toBe(true)
    store.addPage({ conversations: [conv('c7', 7), conv('c6', 6)], next_cursor: null })
    expect(ids(store)).toEqual(['c9', 'c8', 'c7', 'c6'])
    expect(store.getSnapshot()).toMatchObject({ nextCursor: null, loadingMore: false })
    expect(store.beginMore()).toBeNull()
  })

  it('moves an updated conversation to the top and adds created ones', () => {
    const store = new ConversationListStore()
    store.resetFirstPage({ conversations: [conv('b', 2), conv('a', 1)], next_cursor: null })
    expect(store.apply('conversation.updated', conv('a', 3, { title: 'renamed' }))).toBe(true)
    expect(ids(store)).toEqual(['a', 'b'])
    expect(store.conversation('a')!.title).toBe('renamed')
    store.apply('conversation.created', conv('new', 4, { busy: true }))
    expect(ids(store)).toEqual(['new', 'a', 'b'])
    expect(store.conversation('new')!.busy).toBe(true)
  })

  it('keeps the newest record whatever order a page and the events arrive in', () => {
    const store = new ConversationListStore()
    // An event that crossed the first page on its way: the page holds an older record.
    store.apply('conversation.updated', conv('a', 5, { busy: true }))
    store.resetFirstPage({ conversations: [conv('a', 4)], next_cursor: null })
    expect(store.conversation('a')).toMatchObject({ busy: true })
    // A stale event changes nothing either.
    store.apply('conversation.updated', conv('a', 3, { title: 'old' }))
    expect(store.conversation('a')!.title).toBe('a')
  })

  it('a deleted conversation never returns from a late page', () => {
    const store = new ConversationListStore()
    store.resetFirstPage({ conversations: [conv('c3', 3)], next_cursor: 'p2' })
    store.beginMore()
    store.apply('conversation.deleted', { conversation_id: 'c2' })
    store.addPage({ conversations: [conv('c2', 2), conv('c1', 1)], next_cursor: null })
    expect(ids(store)).toEqual(['c3', 'c1'])
    expect(store.conversation('c2')).toBeUndefined()
  })

  it('holds a conversation older than the pages loaded without listing it out of order', () => {
    const store = new ConversationListStore()
    store.resetFirstPage({ conversations: [conv('c9', 9), conv('c8', 8)], next_cursor: 'p2' })
    // Opened from a search: known (title, busy), but the list has not reached it yet.
    store.upsert(conv('old', 1))
    expect(ids(store)).toEqual(['c9', 'c8'])
    expect(store.conversation('old')!.title).toBe('old')
    store.beginMore()
    store.addPage({ conversations: [conv('c2', 2), conv('old', 1)], next_cursor: null })
    expect(ids(store)).toEqual(['c9', 'c8', 'c2', 'old'])
  })

  it('refuses events whose payload is not a Conversation', () => {
    const store = new ConversationListStore()
    store.resetFirstPage({ conversations: [], next_cursor: null })
    expect(store.apply('conversation.updated', { conversation_id: 'x' })).toBe(false)
    expect(store.apply('conversation.deleted', {})).toBe(false)
    expect(ids(store)).toEqual([])
  })
})
