// Summarises a V8 .cpuprofile (node --cpu-prof): the functions with the most self time.
//   node bench/lib/profile-summary.mjs file.cpuprofile [top=15]
import { readFileSync } from "node:fs";
import { basename } from "node:path";

const CATEGORIES = [
  ["idle", /^\((idle|program)\)/],
  ["garbage collector", /^\(garbage collector\)/],
  ["wasm: malloc/free/drop", /dlmalloc|__rust_alloc|__rust_dealloc|__rust_realloc|__rdl_|RawVec|deallocate|drop_in_place|__externref_table_(alloc|dealloc)/],
  ["wasm: hashing (SipHash, HashMap)", /sip::|Sip13|Hasher|hashbrown|HashMap|HashSet/],
  ["wasm: strings (clone, compare, format)", /String|memcmp|memcpy|memmove|fmt::|to_vec|str as/],
  ["wasm: other engine code", /\.wasm/],
  ["JS<->wasm glue (core.js, UTF-8)", /core\.js|decodeUTF8|^decode |^encode|TextDecoder|TextEncoder|encodeInto/],
  ["JS facade (index.cjs/index.js)", /index\.(c|m)?js/],
  ["microtasks/promises (V8, Node)", /Microtask|task_queues|Promise|processTicksAndRejections/],
  ["benchmark harness", /bench\/|common\.mjs|roundtrip\.mjs|fanout\.mjs|stream\.mjs|memory\.mjs/],
];

/** Self time grouped into the categories above (first match wins), in ms and %. */
export function categorise(rows) {
  const out = new Map();
  for (const { fn, ms } of rows) {
    const cat = CATEGORIES.find(([, re]) => re.test(fn))?.[0] ?? "other (V8/Node builtins)";
    out.set(cat, (out.get(cat) ?? 0) + ms);
  }
  const busy = [...out.entries()].filter(([c]) => c !== "idle").reduce((a, [, v]) => a + v, 0);
  return [...out.entries()]
    .filter(([c]) => c !== "idle")
    .sort((x, y) => y[1] - x[1])
    .map(([category, ms]) => ({ category, ms, pct: (100 * ms) / busy }));
}

export function summarise(file, top = 15) {
  const profile = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = profile.timeDeltas;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]);
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${basename(url)}:${lineNumber + 1}` : "";
    const key = `${functionName || "(anonymous)"}${where ? ` ${where}` : ""}`;
    self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0));
  }
  const all = [...self.entries()].map(([fn, us]) => ({ fn, ms: us / 1000 }));
  const busy = all.filter((r) => !/^\((idle|program)\)/.test(r.fn)).reduce((a, r) => a + r.ms, 0);
  const rows = all
    .filter((r) => !/^\((idle|program)\)/.test(r.fn))
    .sort((x, y) => y.ms - x.ms)
    .map((r) => ({ ...r, pct: (100 * r.ms) / busy }));
  return { busyMs: busy, top: rows.slice(0, top), categories: categorise(all) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { busyMs, top, categories } = summarise(process.argv[2], Number(process.argv[3] ?? 15));
  console.log(`busy: ${busyMs.toFixed(1)} ms`);
  for (const row of categories) console.log(`${row.pct.toFixed(1).padStart(5)}%  ${row.ms.toFixed(1).padStart(8)} ms  [${row.category}]`);
  for (const row of top) console.log(`${row.pct.toFixed(1).padStart(5)}%  ${row.ms.toFixed(1).padStart(8)} ms  ${row.fn}`);
}
