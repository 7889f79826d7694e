/**
 * Partitioners as channel selection: which consumer subtask(s) of an exchange get a record.
 * Pure; the RecordWriter calls `select` once per record.
 *
 *   forward    the consumer with the producer's index (or the only channel, when one is given)
 *   rebalance  round robin over all channels, starting at the producer's index so that
 *              producers do not all start on consumer 0
 *   rescale    round robin over the channels given; the deployer wires only the producer's
 *              local group of consumers (Flink's pointwise pattern), so this is a plain rotation
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

export function createChannelSelector(spec: PartitionerSpec, numChannels: number, producerSubtask: number, consumerMaxParallelism: number): ChannelSelector {
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
    case 'rescale': {
      let next = producerSubtask % numChannels;
      return {
        broadcast: false,
        select: () => {
          const i = next;
          next = next + 1 === numChannels ? 0 : next + 1;
          return i;
        },
      };
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
