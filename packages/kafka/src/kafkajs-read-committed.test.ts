import { describe, expect, it } from 'vitest';
import { filterAbortedMessages, kafkajsReadCommittedFixed } from './kafkajs-read-committed.js';

const rec = (offset: number, producerId: number, inTransaction = true, key: Buffer | null = Buffer.from('k')) => ({ offset: String(offset), key, batchContext: { producerId, inTransaction } });
const abortMarker = (offset: number, producerId: number) => rec(offset, producerId, true, Buffer.from([0, 0, 0, 0]));

describe('read_committed filtering of aborted transactions', () => {
  it('drops every aborted transaction a fetch starts inside, not only the first one', () => {
    // Producers 1 and 2 both began aborted transactions before the fetched range (offset 150);
    // producer 3 committed. kafkajs 2.2.4 let producer 2's records through here.
    const messages = [rec(150, 1), rec(151, 2), rec(152, 3), abortMarker(153, 1), abortMarker(154, 2), rec(155, 1), rec(156, 2)];
    const kept = filterAbortedMessages({ messages, abortedTransactions: [{ producerId: '2', firstOffset: '120' }, { producerId: '1', firstOffset: '100' }] });
    expect(kept.map((m) => m.offset)).toEqual(['152', '153', '154', '155', '156']);
  });

  it('keeps non-transactional records and everything when nothing was aborted', () => {
    const messages = [rec(0, 1, false), rec(1, 1)];
    expect(filterAbortedMessages({ messages, abortedTransactions: [] })).toEqual(messages);
    expect(filterAbortedMessages({ messages, abortedTransactions: [{ producerId: 1, firstOffset: 0 }] }).map((m) => m.offset)).toEqual(['0']);
  });

  it('is installed into kafkajs', () => {
    expect(kafkajsReadCommittedFixed()).toBe(true);
  });
});
