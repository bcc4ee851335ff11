/**
 * Bounded work per tick for concurrent runs. Each turn has two long
 * synchronous stretches (assembling the prompt; recording, auditing and
 * dispatching the reply). Fifty runs whose replies land in the same poll
 * phase would otherwise run them all back to back while every client waits.
 * A run asks `next()` before each stretch; the pacer lets one stretch go per
 * turn of the event loop, in arrival order, so I/O — clients' calls, the
 * provider's streams, timers — is served between any two of them.
 */
export class Pacer {
  readonly #waiting: (() => void)[] = [];
  #scheduled = false;

  /** Resolves when the caller may take its next synchronous stretch. */
  next(): Promise<void> {
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // setImmediate, not a microtask: immediates queued while one runs wait for the next loop turn.
    setImmediate(this.#release);
  }

  readonly #release = (): void => {
    this.#scheduled = false;
    this.#waiting.shift()?.();
    if (this.#waiting.length > 0) this.#schedule();
  };
}
