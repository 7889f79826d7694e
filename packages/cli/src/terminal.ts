/**
 * The status line's terminal on this process's stderr. Other output reaches the same screen
 * from everywhere (records printed by worker threads, log lines, the CLI's own messages), so
 * every write to stdout or stderr first erases the line, and the line is drawn again once the
 * write is done. Only used when stderr is a TTY.
 */
import type { StatusTerminal } from './status-line.js';

const ERASE_LINE = '\r\x1b[2K';

type Write = typeof process.stdout.write;

export function createStderrStatusTerminal(): (StatusTerminal & { dispose(): void }) | undefined {
  if (process.stderr.isTTY !== true) return undefined;
  const rawOut = process.stdout.write.bind(process.stdout) as Write;
  const rawErr = process.stderr.write.bind(process.stderr) as Write;
  let line = '';
  let redraw: NodeJS.Immediate | undefined;
  const around = (raw: Write): Write =>
    ((...args: Parameters<Write>) => {
      if (line === '') return raw(...args);
      rawErr(ERASE_LINE);
      const ok = raw(...args);
      // One redraw after a burst of writes (a batch of printed records), not one per write.
      redraw ??= setImmediate(() => {
        redraw = undefined;
        if (line !== '') rawErr(`${ERASE_LINE}${line}`);
      });
      return ok;
    }) as Write;
  process.stdout.write = around(rawOut);
  process.stderr.write = around(rawErr);
  return {
    // 0 when the terminal does not report its size (a pseudo-terminal without one): assume 80.
    columns: () => (process.stderr.columns > 0 ? process.stderr.columns : 80),
    draw(text) {
      line = text;
      rawErr(`${ERASE_LINE}${text}`);
    },
    clear() {
      if (line === '') return;
      line = '';
      rawErr(ERASE_LINE);
    },
    dispose() {
      this.clear();
      if (redraw !== undefined) clearImmediate(redraw);
      process.stdout.write = rawOut;
      process.stderr.write = rawErr;
    },
  };
}
