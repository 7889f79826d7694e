/**
 * Global setup of the `kafka` vitest project (vitest.config.ts): ONE broker for the whole run,
 * started before the first Kafka test file and stopped after the last. Test files read its
 * addresses with `inject('kafkaBootstrap')` / `inject('kafkaSaslBootstrap')` ('' when the Kafka
 * tests are skipped; the one line saying why was printed here). Under CI=true a broker that
 * cannot start throws, which fails the run.
 */
import { Kafka, logLevel } from 'kafkajs';
import type { TestProject } from 'vitest/node';
import { kafkaForTests } from './kafka-broker.js';

/**
 * A new broker has no group coordinator until its __consumer_offsets topic exists and has
 * leaders; the first consumer group to ask for one makes it. On a busy machine that can take
 * longer than a client's retries, and the test that happens to be first fails for it. Asking
 * here, until a coordinator answers, makes the broker ready for consumer groups before any test.
 */
async function waitForGroupCoordinator(bootstrap: string, timeoutMs = 180_000): Promise<void> {
  const admin = new Kafka({ clientId: 'sluice-test-setup', brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await admin.describeGroups(['sluice-test-setup-warmup']);
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`the test broker at ${bootstrap} has no group coordinator after ${timeoutMs} ms: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } finally {
    await admin.disconnect();
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const broker = await kafkaForTests();
  project.provide('kafkaBootstrap', broker?.bootstrap ?? '');
  project.provide('kafkaSaslBootstrap', broker?.saslBootstrap ?? '');
  if (broker === undefined) return async () => undefined;

  // An interrupted run (Ctrl-C, a CI timeout's SIGTERM) never reaches teardown, and the broker
  // runs in its own session, so it would outlive the run: stop it synchronously on the way out.
  // Prepended, because vitest's own handlers call process.exit(), and an 'exit' listener that
  // exits again skips the listeners after it.
  const onExit = (): void => broker.stopSync();
  const onSignal = (signal: NodeJS.Signals): void => {
    broker.stopSync();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.prependOnceListener('exit', onExit);
  process.prependOnceListener('SIGINT', onSignal);
  process.prependOnceListener('SIGTERM', onSignal);
  await waitForGroupCoordinator(broker.bootstrap);
  return async () => {
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await broker.stop();
  };
}
