// The public declarations against the code: the names the package exports at run time (Node
// entry, by import and require, and the web entry) are exactly the values its .d.ts declares
// (classes, functions, consts), and each declared class has, at run time, every method the
// .d.ts gives it (and declares every public method it has).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import * as nodeEntry from "workbus";

const installed = join(process.cwd(), "node_modules", "workbus");
const dts = readFileSync(join(installed, "workbus.d.cts"), "utf8");
const lines = dts.split("\n");

/** The values the .d.ts exports: `export [declare] [default] function|const|class <name>`. */
function declaredValues() {
  const names = [];
  for (const line of lines) {
    const m = /^export (?:declare )?(default )?(function|const|class) (\w+)/.exec(line);
    if (m) names.push(m[1] ? "default" : m[3]);
    // Forms this reader does not know would go unchecked: refuse them instead.
    else if (/^export (?:declare )?(?:let|var|enum|namespace|module|abstract)\b|^export \{(?!\s*\};)|^export \* /.test(line)) {
      throw new Error(`the .d.ts exports a value in a form this test does not read: ${line}`);
    }
  }
  return [...new Set(names)].sort();
}

/**
 * Each declared class: its base (as written after `extends`), its instance methods (symbol-keyed
 * ones as "Symbol.<name>") and its static methods, read from the members indented by two spaces.
 */
function declaredClasses() {
  const classes = new Map();
  let current;
  for (const line of lines) {
    const head = /^export declare class (\w+)(?:<[^>]*>)?(?: extends (\w+))?/.exec(line);
    if (head) {
      current = { base: head[2], methods: new Set(), statics: new Set() };
      classes.set(head[1], current);
    } else if (current && line.startsWith("}")) {
      current = undefined;
    } else if (current) {
      const m = /^ {2}(static )?(?:(\w+)|\[Symbol\.(\w+)\])\??(?:<.*>)?\(/.exec(line);
      if (!m || m[2] === "constructor") continue;
      (m[1] ? current.statics : current.methods).add(m[2] ?? `Symbol.${m[3]}`);
    }
  }
  return classes;
}

const key = (name) => (name.startsWith("Symbol.") ? Symbol[name.slice(7)] : name);

/** Every method name a class declares, its declared bases' included. */
function declaredMethods(classes, name) {
  const c = classes.get(name);
  if (!c) return new Set();
  return new Set([...c.methods, ...declaredMethods(classes, c.base)]);
}

// Symbol.dispose's description differs between hosts ("nodejs.dispose" in Node 20 and 22).
const WELL_KNOWN = ["dispose", "asyncDispose", "asyncIterator", "iterator", "toStringTag"];

/** The public (not `_`-prefixed) methods a class has at run time, up its prototype chain. */
function runtimeMethods(cls) {
  const names = new Set();
  for (let proto = cls.prototype; proto && proto !== Object.prototype && proto !== Error.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const k of Reflect.ownKeys(proto)) {
      const desc = Object.getOwnPropertyDescriptor(proto, k);
      if (k === "constructor" || typeof desc.value !== "function") continue;
      if (typeof k === "symbol") names.add(`Symbol.${WELL_KNOWN.find((n) => Symbol[n] === k) ?? k.description}`);
      else if (!k.startsWith("_")) names.add(k);
    }
  }
  return names;
}

const exportedNames = (ns) => Object.keys(ns).sort();

test("the .d.ts declares values in forms this test reads", () => {
  const values = declaredValues();
  assert.ok(values.length >= 20, `too few declared values: ${values}`);
  assert.ok(values.includes("default") && values.includes("Worker") && values.includes("JobStatus"), `${values}`);
  assert.ok(declaredClasses().get("Worker").methods.has("onJob"));
});

test("the Node entry exports exactly the values the .d.ts declares (import and require)", () => {
  assert.deepEqual(exportedNames(nodeEntry), declaredValues());
  const required = createRequire(join(process.cwd(), "package.json"))("workbus");
  assert.deepEqual(exportedNames(required), declaredValues());
});

/** The names a generated view (`export { a, b } from "./workbus.cjs";` lines) re-exports. */
function viewNames(file) {
  const text = readFileSync(join(installed, file), "utf8");
  return [...text.matchAll(/^export \{ ([^}]*) \} from "\.\/workbus\.cjs";$/gm)].flatMap((m) => m[1].split(", "));
}

test("the web entry exports exactly the values its view of the .d.ts declares, and its subpath modules the rest", async () => {
  const web = await import(pathToFileURL(join(installed, "web", "index.js")).href);
  const values = declaredValues();
  const webValues = viewNames("workbus-web.d.mts").filter((n) => values.includes(n));
  // `__internals` is what the subpath modules beside it take from it (not public API).
  assert.deepEqual(exportedNames(web), [...webValues, "default", "__internals"].sort());
  const subpaths = Object.keys(JSON.parse(readFileSync(join(installed, "package.json"), "utf8")).exports)
    .filter((k) => !["./web", "./core_bg.wasm", "./package.json", "."].includes(k))
    .map((k) => k.slice(2));
  const subValues = [];
  for (const sub of subpaths) {
    const module = await import(pathToFileURL(join(installed, "web", `${sub}.js`)).href);
    const declared = viewNames(`${sub}.d.mts`).filter((n) => values.includes(n));
    assert.deepEqual(exportedNames(module), declared.sort(), `web/${sub}.js`);
    assert.deepEqual(viewNames(`${sub}.d.cts`), viewNames(`${sub}.d.mts`), `${sub}.d.cts`);
    subValues.push(...declared);
  }
  assert.deepEqual([...webValues, ...subValues, "default"].sort(), values);
});

test("every declared class is a class at run time with each declared method, and declares each public method it has", () => {
  const classes = declaredClasses();
  const problems = [];
  for (const [name, declared] of classes) {
    const cls = nodeEntry[name];
    if (typeof cls !== "function") {
      problems.push(`${name} is not a class at run time`);
      continue;
    }
    if (declared.base && !(cls.prototype instanceof (nodeEntry[declared.base] ?? globalThis[declared.base]))) problems.push(`${name} does not extend ${declared.base}`);
    for (const m of declared.methods) {
      if (typeof cls.prototype[key(m)] !== "function") problems.push(`${name}.prototype.${m} is missing`);
    }
    for (const m of declared.statics) {
      if (typeof cls[m] !== "function") problems.push(`static ${name}.${m} is missing`);
    }
    const all = declaredMethods(classes, name);
    for (const m of runtimeMethods(cls)) {
      if (!all.has(m)) problems.push(`${name}.prototype.${m} exists but is not declared`);
    }
  }
  assert.deepEqual(problems, []);
});
