/**
 * A kafkajs partition assigner that hands out a fixed set of partitions. Sluice, not Kafka's group
 * protocol, decides which subtask reads which partition; each reader joins its own private group
 * and this assigner gives all of the reader's partitions to the group's first member (the only
 * one) and nothing to anyone else.
 */
import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

export const FIXED_ASSIGNER_NAME = 'SluiceFixedAssigner';

export function fixedPartitionAssigner(assignment: () => Readonly<Record<string, readonly number[]>>): PartitionAssigner {
  return () => ({
    name: FIXED_ASSIGNER_NAME,
    version: 0,
    protocol({ topics }) {
      return { name: FIXED_ASSIGNER_NAME, metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }) };
    },
    async assign({ members }) {
      const mine: Record<string, number[]> = {};
      for (const [topic, partitions] of Object.entries(assignment())) mine[topic] = [...partitions];
      return members.map((m, i) => ({
        memberId: m.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: i === 0 ? mine : {}, userData: Buffer.alloc(0) }),
      }));
    },
  });
}
