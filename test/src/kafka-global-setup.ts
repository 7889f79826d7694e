/**
 * Global setup of the `kafka` vitest project (vitest.config.ts): ONE broker for the whole run,
 * started before the first Kafka test file and stopped after the last. Test files read its
 * addresses with `inject('kafkaBootstrap')` / `inject('kafkaSaslBootstrap')` ('' when the Kafka
 * tests are skipped; the one line saying why was printed here). Under CI=true a broker that
 * cannot start throws, which fails the run.
 */
import type { TestProject } from 'vitest/node';
import { kafkaForTests } from './kafka-broker.js';


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
  return async () => {
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await broker.stop();
  };
}
