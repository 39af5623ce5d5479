/** A doubly linked FIFO, so an aborted waiter leaves in O(1) from anywhere in the line. */
export interface WaiterNode<T> {
  readonly value: T;
  prev: WaiterNode<T> | undefined;
  next: WaiterNode<T> | undefined;
  linked: boolean;
}

export class WaiterList<T> {
  #head: WaiterNode<T> | undefined;
  #tail: WaiterNode<T> | undefined;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(value: T): WaiterNode<T> {
    const node: WaiterNode<T> = { value, prev: this.#tail, next: undefined, linked: true };
    if (this.#tail === undefined) this.#head = node;
    else this.#tail.next = node;
    this.#tail = node;
    this.#size++;
    return node;
  }

  shift(): T | undefined {
    const node = this.#head;
    if (node === undefined) return undefined;
    this.remove(node);
    return node.value;
  }

  remove(node: WaiterNode<T>): void {
    if (!node.linked) return;
    node.linked = false;
    if (node.prev === undefined) this.#head = node.next;
    else node.prev.next = node.next;
    if (node.next === undefined) this.#tail = node.prev;
    else node.next.prev = node.prev;
    node.prev = undefined;
    node.next = undefined;
    this.#size--;
  }
}
