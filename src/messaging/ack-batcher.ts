/**
 * Gathers a consumer's acks for one tick and hands each batch to the driver without waiting
 * for it to be written, so a handler slot and a prefetch slot free up as soon as the ack is
 * queued. It counts the acks queued but not yet written, for the consumer to bound what it
 * holds, and `settled()` waits for every one of them.
 */
export class AckBatcher {
  readonly #write: (receipts: readonly string[]) => Promise<void>;
  readonly #onFailed: (error: unknown) => void;
  readonly #onWritten: () => void;
  readonly #writes = new Set<Promise<void>>();
  #batch: string[] = [];
  #flushing: NodeJS.Immediate | undefined;
  #unwritten = 0;

  /**
   * `onFailed` gets a failed write (its messages come back once their leases run out);
   * `onWritten` runs after every write, failed or not, once its acks no longer count.
   */
  constructor(
    write: (receipts: readonly string[]) => Promise<void>,
    onFailed: (error: unknown) => void,
    onWritten: () => void,
  ) {
    this.#write = write;
    this.#onFailed = onFailed;
    this.#onWritten = onWritten;
  }

  /** Acks queued and not yet written (or failed). */
  get unwritten(): number {
    return this.#unwritten;
  }

  add(receipt: string): void {
    this.#unwritten++;
    this.#batch.push(receipt);
    this.#flushing ??= setImmediate(() => this.#flush());
  }

  /** Resolves once every ack queued so far, and any queued meanwhile, is written or reported. */
  async settled(): Promise<void> {
    while (this.#flushing !== undefined || this.#writes.size > 0) {
      if (this.#flushing !== undefined) {
        clearImmediate(this.#flushing);
        this.#flush();
      }
      await Promise.all(this.#writes);
    }
  }

  #flush(): void {
    this.#flushing = undefined;
    const receipts = this.#batch;
    this.#batch = [];
    const write = this.#writeBatch(receipts).finally(() => {
      this.#writes.delete(write);
      this.#unwritten -= receipts.length;
      this.#onWritten();
    });
    this.#writes.add(write);
  }

  async #writeBatch(receipts: readonly string[]): Promise<void> {
    try {
      await this.#write(receipts);
    } catch (error) {
      this.#onFailed(error);
    }
  }
}
