/**
 * Partitioners as channel selection: which consumer subtask(s) of an exchange get a record.
 * Pure; the RecordWriter calls `select` once per record.
 *
 *   forward    the consumer with the producer's index (or the only channel, when one is given)
 *   rebalance  round robin over all channels, starting at the producer's index so that
 *              producers do not all start on consumer 0
 *   rescale    round robin over the producer's local group of consumers only (Flink's pointwise
 *              pattern): with 2 producers and 4 consumers, producer 0 feeds 0–1 and producer 1
 *              feeds 2–3; with 4 producers and 2 consumers, producers 0–1 feed consumer 0
 *   hash       key group of the record's key → the consumer owning that key group
 *   broadcast  every channel (BROADCAST)
 *   global     consumer 0
 */
import type { PartitionerSpec } from '@sluice/api';
import { SluiceError, keyGroupFor, operatorIndexForKeyGroup } from '@sluice/common';

/** Returned by `select` when a record goes to every channel. */
export const BROADCAST = -1;

export interface ChannelSelector {
  /** Whether every record goes to every channel. */
  readonly broadcast: boolean;
  select(value: unknown): number;
}

/** The contiguous range [start, end) of consumers that `producer` of `producers` feeds under rescale. */
export function rescaleGroup(producer: number, producers: number, consumers: number): { start: number; end: number } {
  if (producers <= consumers) {
    return { start: Math.floor((producer * consumers) / producers), end: Math.floor(((producer + 1) * consumers) / producers) };
  }
  const target = Math.floor((producer * consumers) / producers);
  return { start: target, end: target + 1 };
}

function roundRobin(start: number, end: number, first: number): ChannelSelector {
  let next = first;
  return {
    broadcast: false,
    select: () => {
      const i = next;
      next = next + 1 === end ? start : next + 1;
      return i;
    },
  };
}

export function createChannelSelector(
  spec: PartitionerSpec,
  numChannels: number,
  producerSubtask: number,
  consumerMaxParallelism: number,
  producerParallelism = numChannels,
): ChannelSelector {
  if (numChannels < 1) throw new SluiceError('INTERNAL', `a ${spec.kind} exchange needs at least one channel`);
  switch (spec.kind) {
    case 'forward': {
      if (numChannels !== 1 && producerSubtask >= numChannels) {
        throw new SluiceError('INTERNAL', `forward exchange: producer subtask ${producerSubtask} has no consumer among ${numChannels} channels (forward needs equal parallelism)`);
      }
      const index = numChannels === 1 ? 0 : producerSubtask;
      return { broadcast: false, select: () => index };
    }
    case 'global':
      return { broadcast: false, select: () => 0 };
    case 'rebalance':
      return roundRobin(0, numChannels, producerSubtask % numChannels);
    case 'rescale': {
      const g = rescaleGroup(producerSubtask, producerParallelism, numChannels);
      return roundRobin(g.start, g.end, g.start);
    }
    case 'broadcast':
      return { broadcast: true, select: () => BROADCAST };
    case 'hash': {
      if (numChannels > consumerMaxParallelism) {
        throw new SluiceError('INTERNAL', `hash exchange has ${numChannels} consumers but max parallelism ${consumerMaxParallelism}`);
      }
      const keySelector = spec.keySelector;
      return {
        broadcast: false,
        select: (value) => operatorIndexForKeyGroup(keyGroupFor(keySelector(value), consumerMaxParallelism), consumerMaxParallelism, numChannels),
      };
    }
  }
}
