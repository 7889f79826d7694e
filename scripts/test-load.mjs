#!/usr/bin/env node
// `npm run test:load`: the whole test suite (`npm test`: build, type-check, vitest) while one
// busy-loop process per core keeps every core busy, so that a test which only passes on an idle
// machine fails here rather than on a loaded CI runner or a developer's laptop mid-build.
// Arguments go to vitest: `npm run test:load -- test/src/failures.test.ts`.
// SLUICE_LOAD_BURNERS=N overrides the number of burners (default: os.availableParallelism()).
//
// The burners are stopped however the run ends: normally, on a failure, on Ctrl-C or SIGTERM.
// Each one also exits by itself when this script's IPC channel closes, so even a SIGKILL of
// this script leaves no burner spinning.
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';

// Spins in 50 ms slices so that the event loop can notice the parent going away in between.
const BURNER = `
process.on('disconnect', () => process.exit(0));
(function burn() {
  const until = Date.now() + 50;
  while (Date.now() < until) {}
  setImmediate(burn);
})();
`;

function burnerCount() {
  const raw = process.env.SLUICE_LOAD_BURNERS;
  if (raw === undefined || raw === '') return availableParallelism();
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`test:load: SLUICE_LOAD_BURNERS must be a non-negative integer, got '${raw}'`);
    process.exit(2);
  }
  return n;
}

const burners = Array.from({ length: burnerCount() }, () =>
  spawn(process.execPath, ['-e', BURNER], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }),
);
function stopBurners() {
  for (const b of burners) if (b.exitCode === null && b.signalCode === null) b.kill('SIGKILL');
}
process.on('exit', stopBurners);

// Run through the same npm that runs this script, so `npm test` means the same thing.
const npmCli = process.env.npm_execpath;
const [command, prefix] = npmCli !== undefined && npmCli.endsWith('.js') ? [process.execPath, [npmCli]] : ['npm', []];
const args = process.argv.slice(2);
console.log(`test:load: ${burners.length} CPU burner(s) running beside \`npm test${args.length > 0 ? ' -- ' + args.join(' ') : ''}\``);
const started = Date.now();
const suite = spawn(command, [...prefix, 'test', ...(args.length > 0 ? ['--', ...args] : [])], { stdio: 'inherit' });

// Ctrl-C reaches the whole process group (the suite included); SIGTERM may reach only this
// script, so pass it on. Either way wait for the suite to end, then report.
let signalled;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    signalled = sig;
    stopBurners();
    if (suite.exitCode === null) suite.kill(sig);
  });
}

suite.on('error', (err) => {
  console.error(`test:load: could not start npm: ${err.message}`);
  stopBurners();
  process.exit(1);
});
suite.on('exit', (code, signal) => {
  stopBurners();
  const took = ((Date.now() - started) / 1000).toFixed(0);
  const outcome = signalled !== undefined || signal !== null ? `stopped by ${signalled ?? signal}` : code === 0 ? 'passed' : `failed (exit ${code})`;
  console.log(`test:load: the suite ${outcome} after ${took} s beside ${burners.length} CPU burner(s)`);
  process.exit(code ?? (signalled === 'SIGINT' || signal === 'SIGINT' ? 130 : 143));
});
