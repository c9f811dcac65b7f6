// `using` / `await using` support for the façade's classes and handles.

// Explicit resource management, where the runtime has the symbols.
const dispose = typeof Symbol.dispose === "symbol" ? Symbol.dispose : undefined;
const asyncDispose = typeof Symbol.asyncDispose === "symbol" ? Symbol.asyncDispose : undefined;

/**
 * Gives `target` (a prototype or an object) `[Symbol.dispose]` and `[Symbol.asyncDispose]`.
 * @template T
 * @param {T} target
 * @param {{ sync?: () => void, async?: () => unknown } & ThisType<any>} hooks
 * @returns {T}
 */
export function disposable(target, { sync, async }) {
  const define = (key, fn) => key && fn && Object.defineProperty(target, key, { value: fn, writable: true, configurable: true });
  define(dispose, sync);
  define(
    asyncDispose,
    async ??
      async function () {
        sync.call(this);
      },
  );
  return target;
}
