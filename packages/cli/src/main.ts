#!/usr/bin/env node
/**
 * Entry point of the `sluice` binary: wires runCli to this process (streams, signals, exit) and
 * loads the embedded engine lazily, so `sluice --help` never starts the runtime.
 */
import { runCli } from './cli.js';
import { createStderrStatusTerminal } from './terminal.js';
import type { Engine } from './engine.js';

// Stack traces of bundled TypeScript jobs point at the .ts sources (inline source maps).
process.setSourceMapsEnabled(true);

// A long-running server process of its own, with its own flags: not a command of runCli.
if (process.argv[2] === 'taskmanager') {
  const { runTaskManagerCommand } = await import('./taskmanager-command.js');
  const exit = await runTaskManagerCommand(process.argv.slice(3));
  process.stdout.write('', () => process.exit(exit));
  await new Promise(() => undefined);
}

const statusTerminal = createStderrStatusTerminal();
const code = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  loadEngine: async (): Promise<Engine> => (await import('./embedded-engine.js')).createEmbeddedEngine(),
  signals: process,
  ...(statusTerminal === undefined ? {} : { statusTerminal }),
});
statusTerminal?.dispose();

// Exit once output is flushed, even if an engine left a handle open: the job is over.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
