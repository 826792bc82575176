/**
 * One split's stream of joined samples [A | B] within a normalize@ task:
 * rows are gathered per run of images into per-side buffers, then
 * joined, centered and multiplied a chunk at a time.
 */
import { centerInto, type MomentsAccumulator } from './moments.js';
import type { SplitPart } from './normalize-moments.js';

export class SplitStream {
  private readonly bufA: Float32Array;
  private readonly bufB: Float32Array;
  private readonly joined: Float32Array;
  private rows = 0;
  private seen = false;
  readonly first: Float64Array;
  readonly varies: Uint8Array;
  /** Units that have not varied yet: the only ones still checked. */
  private steady: number[];

  constructor(private readonly acc: MomentsAccumulator,
    private readonly unitsA: number, private readonly unitsB: number,
    private readonly chunk: number) {
    this.bufA = new Float32Array(chunk * unitsA);
    this.bufB = new Float32Array(chunk * unitsB);
    this.joined = new Float32Array(chunk * (unitsA + unitsB));
    this.first = new Float64Array(unitsA + unitsB).fill(NaN);
    this.varies = new Uint8Array(unitsA + unitsB);
    this.steady = Array.from({ length: unitsA + unitsB }, (_, j) => j);
  }

  /**
   * Append samples [r0, r1) of blocks a [*, unitsA] and b [*, unitsB]
   * (two copies per run, not per sample), flushing full chunks.
   */
  async push(a: Float32Array, b: Float32Array, r0: number,
    r1: number): Promise<void> {
    const { unitsA, unitsB } = this;
    while (r0 < r1) {
      const take = Math.min(r1 - r0, this.chunk - this.rows);
      this.bufA.set(a.subarray(r0 * unitsA, (r0 + take) * unitsA),
        this.rows * unitsA);
      this.bufB.set(b.subarray(r0 * unitsB, (r0 + take) * unitsB),
        this.rows * unitsB);
      this.rows += take;
      r0 += take;
      if (this.rows === this.chunk) await this.flush();
    }
  }

  async flush(): Promise<void> {
    if (this.rows === 0) return;
    this.checkSteady();
    const mean = centerInto([this.bufA, this.bufB],
      [this.unitsA, this.unitsB], this.rows, this.joined);
    await this.acc.addCentered(this.joined, this.rows, mean);
    this.rows = 0;
  }

  /** Drop from `steady` every unit whose value changes in the buffers. */
  private checkSteady(): void {
    const { unitsA, unitsB } = this;
    const column = (j: number) => j < unitsA
      ? { x: this.bufA, at: j, stride: unitsA }
      : { x: this.bufB, at: j - unitsA, stride: unitsB };
    if (!this.seen) {
      for (let j = 0; j < unitsA + unitsB; j++) {
        const { x, at } = column(j);
        this.first[j] = x[at];
      }
      this.seen = true;
    }
    this.steady = this.steady.filter((j) => {
      const v = this.first[j];
      const { x, at, stride } = column(j);
      for (let k = at; k < this.rows * stride; k += stride) {
        if (x[k] !== v) {
          this.varies[j] = 1;
          return false;
        }
      }
      return true;
    });
  }

  /** The split's moments; the stream is done once this is called. */
  part(): SplitPart {
    return { ...this.acc.finish(), first: this.first, varies: this.varies };
  }
}
