/**
 * The broker the Kafka benchmarks run against. Given one (`--kafka-bootstrap=host:port` or
 * SLUICE_KAFKA_BOOTSTRAP), the benchmarks use it and leave it running; otherwise they start the
 * single-node KRaft broker of infra/kafka/kafka.sh on this machine and stop it afterwards (a
 * broker that was already running is reused and left alone). Starting needs Java 17+ and Maven;
 * without them the error says how to get them or how to point at a broker instead.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BenchBroker {
  readonly bootstrap: string;
  /** Where it came from, for the results file. */
  readonly origin: 'given' | 'started' | 'reused';
  /** Stops the broker if this process started it; otherwise nothing. Idempotent, never throws. */
  stop(): Promise<void>;
}

const KAFKA_SH = fileURLToPath(new URL('../../../infra/kafka/kafka.sh', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The first start copies ~45 MB of jars from Maven Central; later starts take seconds. */
const START_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 60_000;

export const KAFKA_BENCH_HINT =
  'the Kafka benchmarks start a broker with infra/kafka/kafka.sh, which needs Java 17+ and Maven ' +
  '(`bash infra/kafka/install.sh` installs both on Debian/Ubuntu); or point them at a running broker ' +
  'with SLUICE_KAFKA_BOOTSTRAP=host:port or --kafka-bootstrap=host:port';

export class KafkaBenchSetupError extends Error {
  override readonly name = 'KafkaBenchSetupError';
}

/** The broker address a user gave, if any (the flag wins over the environment). */
export function givenBootstrap(flag: string | undefined): string | undefined {
  const v = flag ?? process.env['SLUICE_KAFKA_BOOTSTRAP'];
  if (v === undefined || v.trim() === '') return undefined;
  const list = v.split(',').map((s) => s.trim());
  for (const b of list) {
    if (!/^[^\s:]+:\d{1,5}$/.test(b)) throw new KafkaBenchSetupError(`Kafka bootstrap address '${b}' is not host:port (from ${flag === undefined ? 'SLUICE_KAFKA_BOOTSTRAP' : '--kafka-bootstrap'})`);
  }
  return list.join(',');
}

/** Why this machine cannot start a broker, or undefined when it can. */
export function missingBrokerTools(): string | undefined {
  const javaHome = process.env['JAVA_HOME'];
  const hasJava = (javaHome !== undefined && javaHome !== '' && isExecutable(join(javaHome, 'bin', 'java'))) || onPath('java');
  const missing = [...(hasJava ? [] : ['java']), ...(onPath('mvn') ? [] : ['mvn'])];
  return missing.length === 0 ? undefined : `${missing.join(' and ')} not found on PATH`;
}

/** A broker for the benchmarks: the given one, or one started (or found running) through kafka.sh. */
export async function obtainBroker(given: string | undefined): Promise<BenchBroker> {
  if (given !== undefined) return { bootstrap: given, origin: 'given', stop: () => Promise.resolve() };
  const missing = missingBrokerTools();
  if (missing !== undefined) throw new KafkaBenchSetupError(`cannot start a Kafka broker: ${missing}; ${KAFKA_BENCH_HINT}`);
  let out: { stdout: string; stderr: string };
  try {
    out = await kafkaSh('start', START_TIMEOUT_MS);
  } catch (err) {
    // A start cut off half-way may have left a JVM behind.
    await kafkaSh('stop', STOP_TIMEOUT_MS).catch(() => undefined);
    throw err;
  }
  const bootstrap = out.stdout.trim().split('\n').pop() ?? '';
  if (!/^127\.0\.0\.1:\d+$/.test(bootstrap)) throw new KafkaBenchSetupError(`infra/kafka/kafka.sh start printed no address:\n${out.stdout}${out.stderr}`);
  if (out.stderr.includes('reusing running broker')) return { bootstrap, origin: 'reused', stop: () => Promise.resolve() };
  let stopping: Promise<void> | undefined;
  return {
    bootstrap,
    origin: 'started',
    stop: () =>
      (stopping ??= kafkaSh('stop', STOP_TIMEOUT_MS).then(
        () => undefined,
        (err: unknown) => console.error(`could not stop the Kafka broker at ${bootstrap}: ${(err as Error).message}; run \`npm run kafka:stop\``),
      )),
  };
}

function kafkaSh(command: 'start' | 'stop', timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile('bash', [KAFKA_SH, command], { cwd: REPO_ROOT, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error === null) {
        resolve({ stdout, stderr });
        return;
      }
      const why = error.killed ? `did not finish within ${timeoutMs / 1000} s` : `failed (${String(error.code ?? error.signal)})`;
      const tail = stderr.trimEnd().split('\n').slice(-15).join('\n');
      reject(new KafkaBenchSetupError(`infra/kafka/kafka.sh ${command} ${why}${tail === '' ? '' : `:\n${tail}`}`));
    });
  });
}

function onPath(name: string): boolean {
  return (process.env['PATH'] ?? '').split(delimiter).some((dir) => dir !== '' && isExecutable(join(dir, name)));
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * One broker for all Kafka runs of a bench invocation, obtained on first use (so a run without
 * Kafka benchmarks never starts one) and stopped by `close()`, or on Ctrl-C / SIGTERM, which
 * would otherwise leave a JVM this process started running.
 */
export class BrokerSession {
  private broker: Promise<BenchBroker> | undefined;
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    void (async () => {
      const broker = await this.broker?.catch(() => undefined);
      if (broker?.origin === 'started') console.error(`${signal}: stopping the Kafka broker this benchmark started (should this be cut short: npm run kafka:stop)`);
      await this.close();
      process.exit(130);
    })();
  };

  constructor(private readonly given: string | undefined) {}

  get(): Promise<BenchBroker> {
    if (this.broker === undefined) {
      process.once('SIGINT', this.onSignal);
      process.once('SIGTERM', this.onSignal);
      this.broker = obtainBroker(this.given);
      void this.broker.then((b) => {
        if (b.origin === 'started') console.error(`started a Kafka broker at ${b.bootstrap} (infra/kafka/kafka.sh); it is stopped when the benchmarks end`);
      }, () => undefined);
    }
    return this.broker;
  }

  async close(): Promise<void> {
    const b = this.broker;
    if (b === undefined) return;
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    const broker = await b.catch(() => undefined);
    await broker?.stop();
  }
}
