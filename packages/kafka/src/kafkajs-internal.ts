/**
 * The few kafkajs internals the connectors need where its public API stops short: its private
 * cluster object, and through it single requests to a coordinator broker. Tied to kafkajs 2.2.x
 * (the version is pinned exactly); a kafkajs without them is refused with a clear error.
 */
import { ConfigurationError } from '@sluice/common';
import { Kafka } from 'kafkajs';
import { kafkaConfig, type ResolvedKafkaConnection } from './connection.js';

/** Kafka's FindCoordinator key types. */
export const GROUP_COORDINATOR = 0;
export const TRANSACTION_COORDINATOR = 1;

export interface InternalBroker {
  endTxn(args: { producerId: number; producerEpoch: number; transactionalId: string; transactionResult: boolean }): Promise<unknown>;
  /** Throws the first partition's error, as kafkajs's response parser does. */
  offsetCommit(args: {
    groupId: string;
    groupGenerationId: number;
    memberId: string;
    topics: { topic: string; partitions: { partition: number; offset: string }[] }[];
  }): Promise<unknown>;
}

export interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  findGroupCoordinator(args: { groupId: string; coordinatorType: number }): Promise<InternalBroker>;
}

/**
 * A new kafkajs cluster object for `c` (kafkajs's private factory, an own symbol property of
 * every Kafka client). `what` names the feature in the error a kafkajs without it gives.
 */
export function internalCluster(c: ResolvedKafkaConnection, clientSuffix: string, what: string): InternalCluster {
  const kafka = new Kafka(kafkaConfig(c, clientSuffix));
  const sym = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  const create = sym === undefined ? undefined : (kafka as unknown as Record<symbol, unknown>)[sym];
  if (typeof create !== 'function') {
    throw new ConfigurationError(`this kafkajs version does not expose what ${what} needs (kafkajs 2.2.x is supported)`);
  }
  return (create as (o: object) => InternalCluster)({ allowAutoTopicCreation: false });
}
