/**
 * A correction to kafkajs 2.2.4's read_committed filtering, installed before kafkajs loads.
 *
 * A Fetch response lists the aborted transactions overlapping the fetched range (producer id,
 * first offset). kafkajs walks the records and, at each record, starts ignoring the producer of
 * *at most one* listed transaction whose first offset it has reached. When a fetch begins
 * inside several aborted transactions (or several begin before the next record it sees), all
 * but one of them leak to the consumer: records a read_committed consumer must never see. The
 * exactly-once KafkaSink test showed it (kafkajs returned aborted records that Kafka's own Java
 * consumer, reading the same topic read_committed, did not).
 *
 * kafkajs requires this module by path from its Batch class; putting a correct implementation
 * in Node's require cache under that path, before kafkajs itself is first required, replaces
 * it. `@sluice/kafka` imports this file before anything else. If the path ever moves (another
 * kafkajs version), nothing is replaced and `kafkajsReadCommittedFixed()` says so.
 */
import { createRequire } from 'node:module';

interface AbortedTransaction {
  producerId: string | number;
  firstOffset: string | number;
}
interface FetchedMessage {
  offset: string;
  key: Buffer | null | undefined;
  batchContext: { producerId: string | number; inTransaction: boolean };
}

const ABORT_MARKER_KEY = Buffer.from([0, 0, 0, 0]);

function isAbortMarker(m: FetchedMessage): boolean {
  return m.key !== null && m.key !== undefined && Buffer.from(m.key).equals(ABORT_MARKER_KEY);
}

/** Drops records of aborted transactions; markers and other control records stay (kafkajs drops them next). */
export function filterAbortedMessages({ messages, abortedTransactions }: { messages: FetchedMessage[]; abortedTransactions?: AbortedTransaction[] }): FetchedMessage[] {
  if (abortedTransactions === undefined || abortedTransactions.length === 0) return messages;
  const pending = [...abortedTransactions].sort((a, b) => (BigInt(a.firstOffset) < BigInt(b.firstOffset) ? -1 : 1));
  const aborting = new Set<string>();
  return messages.filter((m) => {
    const offset = BigInt(m.offset);
    // Every aborted transaction that has begun by this offset, not just the first one.
    while (pending.length > 0 && offset >= BigInt(pending[0]!.firstOffset)) aborting.add(String(pending.shift()!.producerId));
    const producer = String(m.batchContext.producerId);
    if (isAbortMarker(m)) {
      aborting.delete(producer);
      return true;
    }
    return !(m.batchContext.inTransaction && aborting.has(producer));
  });
}

let installed = false;

try {
  const require = createRequire(import.meta.url);
  const path = require.resolve('kafkajs/src/consumer/filterAbortedMessages.js');
  if (require.cache[path] === undefined) {
    require.cache[path] = { id: path, filename: path, loaded: true, exports: filterAbortedMessages, children: [], paths: [] } as unknown as NodeJS.Module;
    installed = true;
  } else {
    installed = require.cache[path]!.exports === filterAbortedMessages;
  }
} catch {
  installed = false;
}

/** Whether the correction is in place (false: kafkajs was loaded first, or its layout changed). */
export function kafkajsReadCommittedFixed(): boolean {
  return installed;
}
