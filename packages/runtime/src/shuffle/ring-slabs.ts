/**
 * Shared memory for channel rings, carved from large slabs instead of one SharedArrayBuffer per
 * ring. A SharedArrayBuffer is zero-filled when allocated. On its own, a ring (256 KiB by
 * default) comes from glibc's malloc heap as soon as malloc's dynamic mmap threshold has risen
 * (it rises to the size of any larger block freed, up to 32 MiB: compiling a job is enough),
 * and calloc then writes every byte: the whole ring is resident from the start, carrying data or
 * not, and the parallelism² rings of an all-to-all exchange cost parallelism² × 256 KiB (4 GiB
 * at parallelism 128). A slab above 32 MiB is always mapped fresh from the kernel, already
 * zero, so a ring's pages become resident only once they are written.
 */
import { ringByteLength } from '../io/channel-ring.js';

/** Above glibc's largest dynamic mmap threshold (32 MiB on 64-bit). */
export const RING_SLAB_BYTES = 64 * 2 ** 20;

/** Rings start on a page of their own: an idle ring touches one page, its header. */
const PAGE_BYTES = 4096;

export interface RingMemory {
  sab: SharedArrayBuffer;
  offset: number;
}

export class RingSlabs {
  private slab: SharedArrayBuffer | undefined;
  private used = 0;

  constructor(private readonly slabBytes = RING_SLAB_BYTES) {}

  /** Zeroed memory for one ring of these sizes; the caller initialises it. */
  allocate(buffers: number, bufferSizeBytes: number): RingMemory {
    const bytes = Math.ceil(ringByteLength(buffers, bufferSizeBytes) / PAGE_BYTES) * PAGE_BYTES;
    if (bytes > this.slabBytes) return { sab: new SharedArrayBuffer(bytes), offset: 0 };
    if (this.slab === undefined || this.used + bytes > this.slab.byteLength) {
      this.slab = new SharedArrayBuffer(this.slabBytes);
      this.used = 0;
    }
    const offset = this.used;
    this.used += bytes;
    return { sab: this.slab, offset };
  }
}
