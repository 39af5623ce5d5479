/** A fixed-capacity FIFO: O(1) push and shift, no array shifting, no growth. */
export class RingBuffer<T> {
  readonly #items: (T | undefined)[];
  #head = 0;
  #size = 0;

  constructor(readonly capacity: number) {
    this.#items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.#size;
  }

  get full(): boolean {
    return this.#size === this.capacity;
  }

  /** Caller checks `full` first. */
  push(item: T): void {
    this.#items[(this.#head + this.#size) % this.capacity] = item;
    this.#size++;
  }

  /** Caller checks `size` first. */
  shift(): T {
    const item = this.#items[this.#head] as T;
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.capacity;
    this.#size--;
    return item;
  }
}
