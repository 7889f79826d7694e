/**
 * `sluice taskmanager --cluster sluice://HOST:PORT --secret-file FILE [options]`: a TaskManager
 * started by hand (standalone, e.g. on another host), the same process the cluster's `process`
 * driver starts. Exit codes: 0 after an orderly stop, 1 when it could not start, 2 for bad flags.
 */
import { describeError } from '@sluice/common';

export async function runTaskManagerCommand(argv: readonly string[]): Promise<number> {
  const { parseTaskManagerArgs, runTaskManagerUntilStopped, TASKMANAGER_USAGE } = await import('@sluice/cluster');
  let parsed: ReturnType<typeof parseTaskManagerArgs>;
  try {
    parsed = parseTaskManagerArgs(argv);
  } catch (err) {
    process.stderr.write(`sluice taskmanager: ${describeError(err)}\n`);
    return 2;
  }
  if (parsed === 'help') {
    process.stdout.write(TASKMANAGER_USAGE);
    return 0;
  }
  return runTaskManagerUntilStopped(parsed, { out: (line) => process.stdout.write(`${line}\n`) });
}
