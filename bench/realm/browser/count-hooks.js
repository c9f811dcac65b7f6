// Counters for `--impl count` (bench/crossrealm-browser.mjs): what one cross-realm job costs in
// messages, timers, task hops, JS<->wasm crossings and strings decoded out of wasm, on each
// side. Installed before the package loads, so that the wasm's imports and exports are wrapped.

const counts = new Map();
const bump = (key) => counts.set(key, (counts.get(key) ?? 0) + 1);

/** Wraps `scope`'s timers, microtasks, message listeners and wasm instantiation, and `postTarget.postMessage`. */
export function installCounters(scope, postTarget) {
  const setTimeout = scope.setTimeout;
  scope.setTimeout = function (fn, ms, ...rest) {
    bump("setTimeout");
    return setTimeout.call(this, fn, ms, ...rest);
  };
  const queueMicrotask = scope.queueMicrotask;
  scope.queueMicrotask = function (fn) {
    bump("queueMicrotask");
    return queueMicrotask.call(this, fn);
  };
  const postMessage = postTarget.postMessage;
  postTarget.postMessage = function (message, transfer) {
    bump("postMessage");
    return transfer ? postMessage.call(this, message, transfer) : postMessage.call(this, message);
  };
  const addEventListener = scope.EventTarget.prototype.addEventListener;
  scope.EventTarget.prototype.addEventListener = function (type, listener, options) {
    if (type !== "message") return addEventListener.call(this, type, listener, options);
    const counted = function (event) {
      bump("message events (tasks)");
      return listener.call(this, event);
    };
    return addEventListener.call(this, type, counted, options);
  };
  // wasm-bindgen's glue decodes every string that leaves wasm with a TextDecoder.
  const decode = scope.TextDecoder.prototype.decode;
  scope.TextDecoder.prototype.decode = function (input, options) {
    bump("strings decoded out of wasm");
    return decode.call(this, input, options);
  };
  const wrap = (fns, label) => {
    const out = {};
    for (const [name, fn] of Object.entries(fns)) {
      out[name] = typeof fn !== "function" ? fn : function (...args) {
        bump(label);
        return fn.apply(this, args);
      };
    }
    return out;
  };
  const instantiateStreaming = scope.WebAssembly.instantiateStreaming;
  scope.WebAssembly.instantiateStreaming = async function (source, imports) {
    const wrapped = Object.fromEntries(Object.entries(imports).map(([ns, fns]) => [ns, wrap(fns, "wasm -> JS calls")]));
    const { module, instance } = await instantiateStreaming.call(this, source, wrapped);
    return { module, instance: { exports: wrap(instance.exports, "JS -> wasm calls") } };
  };
}

export function resetCounters() {
  counts.clear();
}

/** The counts since the last reset, per job. */
export function countsPerJob(jobs) {
  return Object.fromEntries([...counts].map(([key, n]) => [key, n / jobs]));
}
