// Task boundaries for long work on the page's thread.  Pure of the page's DOM.

/** A task boundary: the page may paint and handle input (scheduler.yield where the browser has it). */
export function yieldToPage() {
  const scheduler = globalThis.scheduler;
  if (scheduler && typeof scheduler.yield === "function") return scheduler.yield();
  return new Promise((resolve) => setTimeout(resolve, 0));
}
