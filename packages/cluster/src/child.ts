/**
 * A Sluice process started by another (a TaskManager by the `process` driver, a JobMaster by the
 * Dispatcher): spawned with an IPC channel, its output passed on line by line with its name in
 * front, its last lines kept to explain an exit, and stopped with SIGTERM, then SIGKILL after a
 * grace period. The child ends itself when the IPC channel closes (see `exitWithParent`), so a
 * parent killed with SIGKILL leaves no orphans behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describeError, type Logger } from '@sluice/common';

export interface ChildSpec {
  /** Name in log lines and errors, e.g. 'taskmanager tm-1a2b'. */
  name: string;
  /** Arguments after the Node executable (the script first). */
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Where output lines go; default: this process's stderr, prefixed with the name. */
  onLine?: (line: string) => void;
}

/** How a child ended, for the log and for whoever replaces it. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** One line: "exited with code 1: <its last line of output>", "killed by SIGKILL". */
  cause: string;
}

const TAIL_LINES = 20;

export class SupervisedChild {
  readonly process: ChildProcess;
  readonly exited: Promise<ChildExit>;
  private readonly tail: string[] = [];
  private messageListeners: ((m: unknown) => void)[] = [];

  constructor(readonly spec: ChildSpec) {
    this.process = spawn(process.execPath, spec.args, { env: spec.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const write = spec.onLine ?? ((line: string) => process.stderr.write(`[${spec.name}] ${line}\n`));
    const lines = (stream: NodeJS.ReadableStream | null): Promise<void> => {
      if (stream === null) return Promise.resolve();
      const rl = createInterface({ input: stream, crlfDelay: Infinity });
      rl.on('line', (line) => {
        this.tail.push(line);
        if (this.tail.length > TAIL_LINES) this.tail.shift();
        write(line);
      });
      return new Promise((resolve) => rl.once('close', resolve));
    };
    const drained = Promise.all([lines(this.process.stdout), lines(this.process.stderr)]);
    this.process.on('message', (m) => {
      for (const l of this.messageListeners) l(m);
    });
    this.exited = new Promise<ChildExit>((resolve) => {
      let spawnError: Error | undefined;
      this.process.once('error', (err) => (spawnError = err));
      this.process.once('close', (code, signal) => {
        void drained.then(() => resolve({ code, signal, cause: this.describeExit(code, signal, spawnError) }));
      });
    });
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  /** The last lines the child wrote, oldest first. */
  lastLines(): string[] {
    return [...this.tail];
  }

  /** Resolves with the first IPC message `accept` takes, or rejects when the child exits first. */
  waitForMessage<T>(accept: (m: unknown) => T | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const listener = (m: unknown): void => {
        const v = accept(m);
        if (v === undefined) return;
        this.messageListeners = this.messageListeners.filter((l) => l !== listener);
        resolve(v);
      };
      this.messageListeners.push(listener);
      void this.exited.then((exit) => {
        this.messageListeners = this.messageListeners.filter((l) => l !== listener);
        reject(new Error(`${this.spec.name} ${exit.cause}`));
      });
    });
  }

  send(message: unknown): void {
    if (this.process.connected) this.process.send(message as object);
  }

  /** SIGTERM, then SIGKILL when it has not exited within `graceMs`. Resolves when it exited. */
  async stop(graceMs: number): Promise<ChildExit> {
    if (this.process.exitCode === null && this.process.signalCode === null) {
      this.process.kill('SIGTERM');
      const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
      const exit = await this.exited;
      clearTimeout(timer);
      return exit;
    }
    return this.exited;
  }

  private describeExit(code: number | null, signal: NodeJS.Signals | null, spawnError: Error | undefined): string {
    if (spawnError !== undefined) return `could not be started: ${describeError(spawnError)}`;
    const last = [...this.tail].reverse().find((l) => l.trim() !== '');
    const said = last === undefined ? '' : `: ${last.trim().slice(0, 300)}`;
    if (signal !== null) return `was killed by ${signal}${said}`;
    return `exited with code ${code ?? '?'}${said}`;
  }
}

/**
 * In a child process: end when the parent's IPC channel closes (the parent exited, even by
 * SIGKILL), running `shutdown` first within `graceMs`. No-op without an IPC channel (started by
 * hand).
 */
export function exitWithParent(shutdown: () => Promise<void>, logger: Pick<Logger, 'warn' | 'error'>, graceMs = 10_000): void {
  if (process.send === undefined) return;
  const end = (): void => {
    logger.warn('the process that started this one is gone; shutting down');
    const timer = setTimeout(() => process.exit(1), graceMs);
    timer.unref();
    void shutdown()
      .catch((err: unknown) => logger.error('shutdown failed', { error: describeError(err) }))
      .finally(() => process.exit(1));
  };
  // The parent may have died before this ran: the 'disconnect' event is then already past.
  if (!process.connected) end();
  else process.once('disconnect', end);
}
