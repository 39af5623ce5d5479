/**
 * Per-key limiter state with a hard bound on the number of keys. A key whose state is
 * idle (a full bucket, a GCRA arrival time in the past) is equivalent to a key never
 * seen, so dropping it loses nothing. Memory only grows when a key is added, so each
 * addition sweeps two slots with a clock hand and drops the idle states it finds: O(1),
 * and the table shrinks back to the keys still active. Only when `maxKeys` keys are
 * active at once is an active key evicted (the one under the hand), which can only make
 * that key more permissive.
 *
 * The hand walks plain arrays rather than the Map: V8 Map iterators (or taking the first
 * key) under constant delete + set degrade to microseconds per step.
 */
export interface KeyedState {
  /** Clock time (ms) from which the state is equivalent to a fresh one. */
  idleAt: number;
}

const SWEEP_PER_ADD = 2;

export class KeyTable<S extends KeyedState> {
  readonly #states = new Map<string, S>();
  readonly #maxKeys: number;
  readonly #slotKeys: (string | undefined)[] = [];
  readonly #slotStates: (S | undefined)[] = [];
  readonly #free: number[] = [];
  #hand = 0;

  constructor(maxKeys: number) {
    this.#maxKeys = maxKeys;
  }

  get size(): number {
    return this.#states.size;
  }

  get(key: string): S | undefined {
    return this.#states.get(key);
  }

  /** `key` must not be present. */
  add(key: string, state: S, now: number): void {
    const slots = this.#slotKeys.length;
    for (let n = 0; n < SWEEP_PER_ADD && slots > 0; n++) {
      const slot = this.#next(slots);
      const idle = this.#slotStates[slot];
      if (idle !== undefined && idle.idleAt <= now) this.#release(slot);
    }
    let slot = this.#free.pop();
    if (slot === undefined) {
      if (slots < this.#maxKeys) {
        slot = slots;
      } else {
        slot = this.#next(slots);
        this.#release(slot);
        this.#free.pop();
      }
    }
    this.#slotKeys[slot] = key;
    this.#slotStates[slot] = state;
    this.#states.set(key, state);
  }

  clear(): void {
    this.#states.clear();
    this.#slotKeys.length = 0;
    this.#slotStates.length = 0;
    this.#free.length = 0;
    this.#hand = 0;
  }

  #next(slots: number): number {
    const slot = this.#hand;
    this.#hand = slot + 1 >= slots ? 0 : slot + 1;
    return slot;
  }

  #release(slot: number): void {
    const key = this.#slotKeys[slot];
    if (key === undefined) return;
    this.#states.delete(key);
    this.#slotKeys[slot] = undefined;
    this.#slotStates[slot] = undefined;
    this.#free.push(slot);
  }
}
