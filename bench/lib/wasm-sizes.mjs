// Size profile of a wasm module that still has its name section (the cargo output, before
// wasm-bindgen strips it): bytes per section, and code bytes per function grouped by crate.
//   node bench/lib/wasm-sizes.mjs target/wasm32-unknown-unknown/release/workbus.wasm [top]
import { readFileSync } from "node:fs";

export function wasmSizes(file, top = 15) {
  const b = readFileSync(file);
  let p = 8;
  const leb = () => {
    let r = 0, s = 0, x;
    do { x = b[p++]; r += (x & 0x7f) * 2 ** s; s += 7; } while (x & 0x80);
    return r;
  };
  const SECTION = ["custom", "type", "import", "function", "table", "memory", "global", "export", "start", "element", "code", "data", "datacount"];
  const sections = {};
  let imported = 0;
  let bodies = [];
  const names = new Map();
  while (p < b.length) {
    const id = b[p++];
    const size = leb();
    const start = p;
    let name = SECTION[id] ?? `#${id}`;
    if (id === 0) {
      const n = leb();
      name = `custom:${b.subarray(p, p + n).toString()}`;
      p += n;
      if (name === "custom:name") {
        while (p < start + size) {
          const sub = b[p++];
          const len = leb();
          const end = p + len;
          if (sub === 1) {
            const count = leb();
            for (let i = 0; i < count; i++) {
              const idx = leb();
              const l = leb();
              names.set(idx, b.subarray(p, p + l).toString());
              p += l;
            }
          }
          p = end;
        }
      }
    } else if (id === 2) {
      const count = leb();
      for (let i = 0; i < count; i++) {
        for (let k = 0; k < 2; k++) { const len = leb(); p += len; }
        const kind = b[p++];
        if (kind === 0) { leb(); imported++; }
        else if (kind === 1) { p++; const f = b[p++]; leb(); if (f & 1) leb(); }
        else if (kind === 2) { const f = b[p++]; leb(); if (f & 1) leb(); }
        else if (kind === 3) { p += 2; }
      }
    } else if (id === 10) {
      const count = leb();
      for (let i = 0; i < count; i++) {
        const len = leb();
        bodies.push({ index: imported + i, bytes: len });
        p += len;
      }
    }
    sections[name] = (sections[name] ?? 0) + size;
    p = start + size;
  }
  bodies = bodies.map((f) => ({ ...f, name: names.get(f.index) ?? `func[${f.index}]` }));
  const group = (name) => {
    const n = name.replace(/^<+/, "").replace(/\[[0-9a-f]+\]/g, "");
    if (/^_ZN/.test(n)) return "(mangled)";
    const m = /^(workbus::[a-z_]+::[a-z_]+|[a-z_0-9]+::|__wbindgen|__wbg|__externref)/.exec(n);
    return m ? m[1].replace(/::$/, "") : "(other)";
  };
  const byCrate = new Map();
  for (const f of bodies) byCrate.set(group(f.name), (byCrate.get(group(f.name)) ?? 0) + f.bytes);
  return {
    total: b.length,
    sections: Object.entries(sections).sort((x, y) => y[1] - x[1]),
    byCrate: [...byCrate.entries()].sort((x, y) => y[1] - x[1]).slice(0, top),
    topFunctions: bodies.sort((x, y) => y.bytes - x.bytes).slice(0, top).map((f) => [f.name.slice(0, 110), f.bytes]),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(wasmSizes(process.argv[2], Number(process.argv[3] ?? 15)), null, 1));
}
