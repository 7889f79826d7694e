/**
 * The one line `runEmbedded` logs when a job needs more slots than the machine has cores: every
 * subtask runs on a worker thread of its own, so the subtasks then share the cores (no speed-up
 * past one slot per core) and each still holds the memory of a thread, even when idle.
 */

/**
 * Resident memory of one idle subtask (its worker thread: V8 heap, young generation, code),
 * measured with `npm run bench -- idle-subtasks` (15–18 MB at parallelism 1 to 64; README,
 * Performance).
 */
export const IDLE_SUBTASK_MB = 16;

export interface OversubscriptionInput {
  /** Slots the job needs (its widest vertex's parallelism). */
  slots: number;
  /** Subtasks of all vertices: one worker thread each. */
  subtasks: number;
  cores: number;
}

function memory(mb: number): string {
  return mb >= 1024 ? `${(mb / 1024).toFixed(1)} GB` : `${mb} MB`;
}

/** The warning for a job wider than the machine, or undefined when it fits. */
export function oversubscriptionWarning({ slots, subtasks, cores }: OversubscriptionInput): string | undefined {
  if (slots <= cores) return undefined;
  const coreWord = cores === 1 ? 'core' : 'cores';
  return (
    `parallelism ${slots} exceeds the ${cores} ${coreWord} of this machine: the job's ${subtasks} subtasks share ${cores} ${coreWord} ` +
    `(no speed-up beyond parallelism ${cores}), and each costs about ${IDLE_SUBTASK_MB} MB even when idle (${memory(subtasks * IDLE_SUBTASK_MB)} in all)`
  );
}
