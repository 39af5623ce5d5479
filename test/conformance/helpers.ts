export { waitFor } from '../support/wait-for.js';

let counter = 0;
/** A name no other test uses, so drivers with shared state never see each other's data. */
export function unique(prefix: string): string {
  counter++;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

/** A promise with its resolve function, for handlers a test releases by hand. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}
