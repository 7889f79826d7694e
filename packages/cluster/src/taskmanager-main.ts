/**
 * The TaskManager process's entry: `node <cluster dist>/taskmanager-main.js --cluster … --secret-file …`
 * (the `process` ClusterDriver starts it so; `sluice taskmanager` takes the same flags). A bad
 * flag exits with code 2 and one line saying what is wrong.
 */
import { describeError } from '@sluice/common';
import { parseTaskManagerArgs, TASKMANAGER_USAGE } from './taskmanager-args.js';
import { runTaskManagerUntilStopped } from './taskmanager-process.js';

// Stack traces of bundled TypeScript jobs point at their .ts sources (inline source maps).
process.setSourceMapsEnabled(true);

let parsed: ReturnType<typeof parseTaskManagerArgs>;
try {
  parsed = parseTaskManagerArgs(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`taskmanager: ${describeError(err)}\n`);
  process.exit(2);
}
if (parsed === 'help') {
  process.stdout.write(TASKMANAGER_USAGE);
  process.exit(0);
}
const code = await runTaskManagerUntilStopped(parsed, { out: (line) => process.stdout.write(`${line}\n`) });
process.stdout.write('', () => process.exit(code));
