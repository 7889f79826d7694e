/**
 * Help texts of the `sluice` command, one per command. Kept apart from parsing so the parser
 * stays a pure function over argv and the texts can be read in one place.
 */

export type CommandName = 'run' | 'plan';

export const TOP_LEVEL_HELP = `Usage: sluice <command> [options]

Flink-style stream processing for TypeScript.

Commands:
  run <job>     Run a job on an embedded cluster until it finishes (Ctrl-C cancels)
  plan <job>    Print the job's execution plan without running it
  help [cmd]    Show help for a command

Options:
  -h, --help    Show this help
  --version     Print the Sluice version

A job is a .ts, .mts, .js or .mjs ES module whose default export builds a pipeline.
Run 'sluice <command> --help' for the options of a command.
`;

export const COMMAND_HELP: Readonly<Record<CommandName, string>> = {
  run: `Usage: sluice run <job.ts|job.js> [options]

Compiles the job file (TypeScript is bundled with esbuild), runs it on an embedded cluster and
prints a summary when it ends. Ctrl-C cancels the job; a second Ctrl-C exits at once.

Options:
  -p, --parallelism <N>       Default parallelism of the job's operators (positive integer)
  --buffer-timeout <ms>       Flush output batches at the latest after this many ms
                              (non-negative; 0 flushes every record)
  -D <key=value>              Job parameter, visible to the job as env.params (repeatable)
  --metrics-port <N>          Serve Prometheus metrics on 127.0.0.1:<N>/metrics
                              (0..65535; 0 picks a free port)
  --verbose                   Print stack traces of errors
  -h, --help                  Show this help

Exit codes: 0 finished, 1 failed, 2 bad usage, 130 cancelled.
`,
  plan: `Usage: sluice plan <job.ts|job.js> [options]

Compiles the job file and prints its execution plan (chains, parallelism, exchanges).

Options:
  -p, --parallelism <N>       Default parallelism of the job's operators (positive integer)
  -D <key=value>              Job parameter, visible to the job as env.params (repeatable)
  --verbose                   Print stack traces of errors
  -h, --help                  Show this help
`,
};
