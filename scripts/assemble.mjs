// Turns the wasm-bindgen outputs in pkg/node and pkg/web into the complete `workbus` npm package.
// Run by scripts/build after wasm-bindgen; see that script for the layout.
//
// The façade (js/workbus.js and whatever it imports) is bundled twice with esbuild; its
// `import * as core from "./core.js"` means the wasm-bindgen output of the target at hand:
//   pkg/node/index.cjs  CommonJS: `require("./core.js")` is the `nodejs` core, which reads the
//                       wasm with fs synchronously, so `require("workbus")` needs no init and no
//                       require(esm).
//   pkg/node/index.mjs  ESM wrapper over index.cjs with an explicit list of named exports (not
//                       left to Node's CommonJS export detection), so both module systems share
//                       one instance: one wasm memory, one set of classes for `instanceof`.
//   pkg/web/index.js    ESM, façade and `web` core in one minified file (the size budget is
//                       about what browsers download), with a linked source map; needs
//                       `await init()`, which fetches core_bg.wasm from beside it.
//   pkg/workerd/index.js  js/entry-workerd.js as is: imports web/index.js and the wasm as a module
//                       (workerd compiles `.wasm` imports) and instantiates it at load: no init.
//   pkg/deno/index.js   js/entry-deno.js as is: `import.source()` of the wasm from files (no
//                       permission needed), a fetch from URLs; instantiated at load.
//   pkg/bun/index.mjs   Bun's `import`: index.cjs through createRequire (see below); Bun's
//                       `require` is index.cjs itself.
// The subpaths (`workbus/wire`, `workbus/redis`, `workbus/pgmq`, `workbus/websocket`: js/sub/*.js)
// hold what only some users need, Pipecat's JSON codec and the network links:
//   pkg/web/<sub>.js    ESM, minified, bundled apart from web/index.js (code they share with
//                       each other goes to web/shared-*.js); whatever they use of the main entry
//                       they take from its `__internals` export (js/internals.js), so a page
//                       has one engine whichever subpaths it imports, and index.js stays the
//                       whole of what `import "workbus"` downloads.
//   pkg/node/<sub>.cjs|.mjs, pkg/bun/<sub>.mjs, pkg/deno/<sub>.js  the same names taken from that
//                       runtime's main entry, which has every name (as before the split).
import { build } from "esbuild";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const js = join(root, "js");
const pkg = join(root, "pkg");

function fail(message) {
  console.error(`assemble: error: ${message}`);
  process.exit(1);
}

for (const f of ["node/core.js", "node/core_bg.wasm", "web/core.js", "web/core_bg.wasm"]) {
  if (!existsSync(join(pkg, f))) fail(`pkg/${f} is missing (wasm-bindgen output)`);
}
if (!existsSync(join(js, "workbus.js"))) fail("js/workbus.js (the JS façade) does not exist");

// --- package metadata from Cargo.toml's [package] table
const cargo = readFileSync(join(root, "Cargo.toml"), "utf8");
const pkgTable = /^\[package\]\s*$([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(cargo)?.[1] ?? "";
const field = (name) => new RegExp(`^${name}\\s*=\\s*"([^"]*)"`, "m").exec(pkgTable)?.[1];
const version = field("version");
if (!version) fail("no version in the [package] table of Cargo.toml");

// `./core.js` (from any file of the façade) is the wasm-bindgen output: for Node it stays an
// import of the core beside the bundle; for the web it is bundled in.
const isCore = (args) => resolve(args.resolveDir, args.path) === join(js, "core.js");
const coreExternal = {
  name: "core-external",
  setup(b) {
    b.onResolve({ filter: /(^|\/)core\.js$/ }, (args) =>
      isCore(args) ? { path: "./core.js", external: true } : undefined,
    );
  },
};
const coreInline = {
  name: "core-inline",
  setup(b) {
    b.onResolve({ filter: /(^|\/)core\.js$/ }, (args) =>
      isCore(args) ? { path: join(pkg, "web", "core.js") } : undefined,
    );
  },
};

// js/spawn.js loads js/realms.js on first use: in the web entry that import stays a dynamic
// import of web/realms.js, built with the subpaths below.
const isRealms = (args) => args.kind === "dynamic-import" && resolve(args.resolveDir, args.path) === join(js, "realms.js");
const realmsApart = {
  name: "realms-apart",
  setup(b) {
    b.onResolve({ filter: /(^|\/)realms\.js$/ }, (args) => (isRealms(args) ? { path: "./realms.js", external: true } : undefined));
  },
};
// Node has nothing to download: there spawn.js is realms.js itself, so the bundle keeps the
// plain shape (a lazily loaded module would wrap every module it imports in a lazy init).
const realmsInline = {
  name: "realms-inline",
  setup(b) {
    b.onResolve({ filter: /(^|\/)spawn\.js$/ }, (args) =>
      resolve(args.resolveDir, args.path) === join(js, "spawn.js") ? { path: join(js, "realms.js") } : undefined,
    );
  },
};
// Names of the public classes, as `keepNames` would keep them (consoles and stack traces show
// them) without its cost for every function: set once per exported class of js/.
const classNames = {
  name: "class-names",
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, (args) => {
      if (!args.path.startsWith(js + "/")) return undefined;
      const text = readFileSync(args.path, "utf8");
      const names = [...text.matchAll(/^export class ([A-Za-z_$][\w$]*)/gm)].map((m) => m[1]);
      if (names.length === 0) return undefined;
      const keep = names.map((n) => `Object.defineProperty(${n}, "name", { value: ${JSON.stringify(n)} });`).join("\n");
      return { contents: `${text}\n${keep}\n`, loader: "js" };
    });
  },
};

const common = {
  absWorkingDir: root,
  bundle: true,
  logLevel: "warning",
  legalComments: "inline",
  charset: "utf8",
  banner: { js: `// workbus ${version}. Generated by scripts/build from js/; do not edit.` },
};

// What a browser loads: minified ES2022 modules with their source maps.
const webBundle = { format: "esm", platform: "neutral", target: "es2022", minify: true, sourcemap: "linked", sourcesContent: true, metafile: true };

// The subpaths: each module of js/sub/ and the names it exports (checked against its bundle);
// `types` are the declarations of js/workbus.d.ts that go with them.
const SUBPATHS = {
  wire: { values: ["encodeMessage", "decodeMessage"], types: ["DecodeLimits"] },
  redis: { values: ["RedisBus"], types: ["RedisBusOptions", "RedisClientLike"] },
  pgmq: { values: ["PgmqBus"], types: ["PgmqBusOptions", "PgQueryable"] },
  websocket: {
    values: ["WebSocketProxyClient", "WebSocketProxyServer"],
    types: ["WebSocketProxyClientOptions", "AcceptedWebSocket", "WebSocketProxyServerOptions", "WebSocketProxyServerEventMap"],
  },
};
for (const sub of Object.keys(SUBPATHS)) if (!existsSync(join(js, "sub", `${sub}.js`))) fail(`js/sub/${sub}.js does not exist`);

const [, nodeShape, web, internalsShape] = await Promise.all([
  build({
    ...common,
    entryPoints: [join(js, "entry-node.js")],
    outfile: join(pkg, "node", "index.cjs"),
    plugins: [coreExternal, realmsInline],
    format: "cjs",
    platform: "node",
    target: "node20",
    sourcemap: "linked",
    sourcesContent: true,
  }),
  // Only to learn the export names of the Node entry; nothing is written.
  build({
    ...common,
    entryPoints: [join(js, "entry-node.js")],
    outfile: join(pkg, "node", "shape.js"),
    plugins: [coreExternal, realmsInline],
    format: "esm",
    platform: "node",
    write: false,
    metafile: true,
  }),
  build({
    ...common,
    ...webBundle,
    entryPoints: [join(js, "entry-web.js")],
    outfile: join(pkg, "web", "index.js"),
    plugins: [coreInline, realmsApart, classNames],
  }),
  // Only to learn the names js/internals.js gives the subpath bundles; nothing is written.
  build({
    ...common,
    entryPoints: [join(js, "internals.js")],
    outfile: join(pkg, "web", "internals.js"),
    plugins: [coreInline],
    format: "esm",
    platform: "neutral",
    write: false,
    metafile: true,
  }),
]);

// The web subpaths. Any module of the main web bundle (index.js) that they import, the engine's
// glue included, becomes the main entry's `__internals`, so nothing of index.js is bundled twice.
const webInputs = new Set(Object.keys(Object.values(web.metafile.outputs).find((o) => o.entryPoint)?.inputs ?? {}).map((p) => resolve(root, p)));
const internalNames = Object.values(internalsShape.metafile.outputs)[0].exports;
if (!webInputs.has(join(js, "internals.js"))) fail("js/entry-web.js no longer exports js/internals.js");
const fromMainEntry = {
  name: "from-main-entry",
  setup(b) {
    b.onResolve({ filter: /^\.\/index\.js$/, namespace: "workbus-main" }, () => ({ path: "./index.js", external: true }));
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      const path = resolve(args.resolveDir, args.path);
      if (path === join(js, "core.js") || webInputs.has(path)) return { path: "index.js", namespace: "workbus-main" };
      return undefined;
    });
    b.onLoad({ filter: /.*/, namespace: "workbus-main" }, () => ({
      contents: `import { __internals } from "./index.js";\nexport const { ${internalNames.join(", ")} } = __internals;\n`,
      loader: "js",
    }));
  },
};
const subpaths = await build({
  ...common,
  entryPoints: { ...Object.fromEntries(Object.keys(SUBPATHS).map((sub) => [sub, join(js, "sub", `${sub}.js`)])), realms: join(js, "realms.js") },
  outdir: join(pkg, "web"),
  chunkNames: "shared-[hash]",
  splitting: true,
  plugins: [fromMainEntry, classNames],
  ...webBundle,
});
const webMaps = [];
for (const [file, output] of Object.entries(subpaths.metafile.outputs)) {
  if (file.endsWith(".map")) {
    webMaps.push(relative(pkg, resolve(root, file)));
    continue;
  }
  const sub = output.entryPoint && Object.keys(SUBPATHS).find((s) => resolve(root, output.entryPoint) === join(js, "sub", `${s}.js`));
  if (sub && output.exports.slice().sort().join() !== SUBPATHS[sub].values.slice().sort().join()) {
    fail(`js/sub/${sub}.js exports ${output.exports.join(", ")}, not what SUBPATHS lists`);
  }
}

// Source maps carry their sources' text; their names become `workbus:///js/...` (the façade)
// and `workbus:///wasm-bindgen/core.js` (the generated glue), so no map points at a file
// outside the package.
for (const map of ["node/index.cjs.map", "web/index.js.map", ...webMaps]) {
  const file = join(pkg, map);
  const json = JSON.parse(readFileSync(file, "utf8"));
  json.sources = json.sources.map((source) => {
    const path = resolve(dirname(file), source);
    if (path.startsWith(js + "/")) return `workbus:///js/${path.slice(js.length + 1)}`;
    if (path.startsWith(pkg + "/") && path.endsWith("/core.js")) return "workbus:///wasm-bindgen/core.js";
    if (source.startsWith("workbus-main:")) return "workbus:///web/index.js#__internals";
    fail(`${map} has a source outside js/ and the wasm-bindgen glue: ${source}`);
  });
  if (json.sourcesContent?.length !== json.sources.length) fail(`${map} does not carry the text of every source`);
  writeFileSync(file, JSON.stringify(json));
}

// Edge entries: small ES modules over web/index.js, copied as they are (esbuild has no reason
// to touch them, and Deno's `import.source()` is not syntax it bundles).
for (const [entry, dir] of [["entry-workerd.js", "workerd"], ["entry-deno.js", "deno"]]) {
  const src = join(js, entry);
  if (!existsSync(src)) fail(`js/${entry} does not exist`);
  mkdirSync(join(pkg, dir), { recursive: true });
  writeFileSync(join(pkg, dir, "index.js"), `${common.banner.js}\n${readFileSync(src, "utf8")}`);
  writeFileSync(join(pkg, dir, "package.json"), `{ "type": "module" }\n`);
}

// Only node/core.js (required at run time by index.cjs) and one core_bg.wasm are shipped: the
// two wasm-bindgen targets compile the same module, so Node reads web/core_bg.wasm too. The
// generated declarations are not the public types (js/workbus.d.ts is).
const nodeCore = join(pkg, "node", "core.js");
const wasmLoad = "const wasmPath = `${__dirname}/core_bg.wasm`;";
const nodeCoreText = readFileSync(nodeCore, "utf8");
if (!nodeCoreText.includes(wasmLoad)) fail("pkg/node/core.js no longer loads core_bg.wasm as expected (wasm-bindgen changed?)");
writeFileSync(
  nodeCore,
  nodeCoreText
    .replace(wasmLoad, 'const wasmPath = require("path").join(__dirname, "..", "web", "core_bg.wasm");')
    // It names a core.d.ts that is not shipped.
    .replace(/^\/\* @ts-self-types="[^"]*" \*\/\n/m, ""),
);
for (const f of ["web/core.js", "web/core.d.ts", "web/core_bg.wasm.d.ts", "node/core.d.ts", "node/core_bg.wasm.d.ts", "node/core_bg.wasm"]) {
  rmSync(join(pkg, f), { force: true });
}

const names = Object.values(nodeShape.metafile.outputs)[0].exports.filter((n) => n !== "default");
if (!names.includes("initSync")) fail("js/entry-node.js lost its exports (initSync missing)");
const ident = /^[A-Za-z_$][\w$]*$/;
const bad = names.filter((n) => !ident.test(n));
if (bad.length) fail(`export names that are not identifiers: ${bad.join(", ")}`);

writeFileSync(
  join(pkg, "node", "index.mjs"),
  `// workbus ${version}. Generated by scripts/build; do not edit.\n` +
    `// The ESM face of index.cjs: one instance of the package whichever way it is loaded.\n` +
    `import cjs from "./index.cjs";\n\n` +
    `export const {\n${names.map((n) => `  ${n},\n`).join("")}} = cjs;\n\n` +
    `export default cjs.default;\n`,
);

// Bun's entry for `import`: the same instance as index.cjs, like index.mjs, but through
// createRequire, because Bun (unlike Node) gives `exports.default` as the default import of a
// CommonJS module marked `__esModule`, which esbuild's index.cjs is.
mkdirSync(join(pkg, "bun"), { recursive: true });
writeFileSync(
  join(pkg, "bun", "index.mjs"),
  `// workbus ${version}. Generated by scripts/build; do not edit.\n` +
    `// Bun's ESM face of ../node/index.cjs: one instance of the package whichever way it is loaded.\n` +
    `import { createRequire } from "node:module";\n\n` +
    `const cjs = createRequire(import.meta.url)("../node/index.cjs");\n\n` +
    `export const {\n${names.map((n) => `  ${n},\n`).join("")}} = cjs;\n\n` +
    `export default cjs.default;\n`,
);

// The subpaths outside the browser: the names of that runtime's main entry, which has them all.
for (const [sub, { values }] of Object.entries(SUBPATHS)) {
  const list = values.join(", ");
  const banner = `// workbus ${version}: \`workbus/${sub}\`. Generated by scripts/build; do not edit.\n`;
  writeFileSync(join(pkg, "node", `${sub}.cjs`), `${banner}"use strict";\nconst { ${list} } = require("./index.cjs");\nmodule.exports = { ${list} };\n`);
  writeFileSync(join(pkg, "node", `${sub}.mjs`), `${banner}import cjs from "./index.cjs";\n\nexport const { ${list} } = cjs;\n`);
  writeFileSync(
    join(pkg, "bun", `${sub}.mjs`),
    `${banner}import { createRequire } from "node:module";\n\nexport const { ${list} } = createRequire(import.meta.url)("../node/index.cjs");\n`,
  );
  writeFileSync(join(pkg, "deno", `${sub}.js`), `${banner}export { ${list} } from "./index.js";\n`);
}

// Module type of each folder, independent of the root package.json.
writeFileSync(join(pkg, "node", "package.json"), `{ "type": "commonjs" }\n`);
writeFileSync(join(pkg, "web", "package.json"), `{ "type": "module", "sideEffects": false }\n`);

// --- declarations: js/workbus.d.ts is shipped once, as workbus.d.cts (the CommonJS view, what
// `require` loads: its default export is `.default`, as at run time); workbus.d.mts is the ESM
// view over it, re-exporting its names and declaring its own default export (`init`), so
// TypeScript's node16 / nodenext / bundler resolution each sees the module kind that loads.
const dts = join(js, "workbus.d.ts");
if (!existsSync(dts)) fail("js/workbus.d.ts (the public typings) does not exist");
const dtsText = readFileSync(dts, "utf8");
if (!/^export default function init\(options\?: InitOptions\): Promise<void>;$/m.test(dtsText)) {
  fail("js/workbus.d.ts must declare `export default function init(options?: InitOptions): Promise<void>;`");
}
copyFileSync(dts, join(pkg, "workbus.d.cts"));
writeFileSync(
  join(pkg, "workbus.d.mts"),
  `// workbus ${version}: the ESM view of workbus.d.cts. Generated by scripts/build; do not edit.\n` +
    `import type { InitOptions } from "./workbus.cjs";\n` +
    `export * from "./workbus.cjs";\n` +
    `export default function init(options?: InitOptions): Promise<void>;\n`,
);

// The browser's view (web/index.js, and workerd's entry over it): workbus.d.mts without the
// subpaths' classes and functions, which come from their own declarations.
const moved = new Set(Object.values(SUBPATHS).flatMap((s) => s.values));
const declared = [...new Set([...dtsText.matchAll(/^export (?:declare )?(?:function|class|const|interface|type) ([A-Za-z_$][\w$]*)/gm)].map((m) => m[1]))];
for (const name of moved) if (!declared.includes(name)) fail(`js/workbus.d.ts does not declare ${name}`);
const webNames = declared.filter((n) => !moved.has(n) && n !== "init");
writeFileSync(
  join(pkg, "workbus-web.d.mts"),
  `// workbus ${version}: the browser entry's view of workbus.d.cts (no subpath names). Generated by scripts/build; do not edit.\n` +
    `import type { InitOptions } from "./workbus.cjs";\n` +
    `export { ${webNames.join(", ")} } from "./workbus.cjs";\n` +
    `export default function init(options?: InitOptions): Promise<void>;\n`,
);
for (const [sub, { values, types }] of Object.entries(SUBPATHS)) {
  for (const name of types) if (!declared.includes(name)) fail(`js/workbus.d.ts does not declare ${name}`);
  const line = `export { ${[...values, ...types].join(", ")} } from "./workbus.cjs";\n`;
  const banner = (view) => `// workbus ${version}: \`workbus/${sub}\` (${view}). Generated by scripts/build; do not edit.\n`;
  writeFileSync(join(pkg, `${sub}.d.cts`), banner("CommonJS") + line);
  writeFileSync(join(pkg, `${sub}.d.mts`), banner("ESM") + line);
}

const extras = ["README.md", "LICENSE"].filter((f) => existsSync(join(root, f)));
if (!extras.includes("LICENSE")) fail("LICENSE is missing at the repository root");
for (const f of extras) copyFileSync(join(root, f), join(pkg, f));

// Each condition carries the types of the file it loads (types first), so every resolver pairs
// a JavaScript file with declarations of the same module kind.
const esm = (file) => ({ types: "./workbus.d.mts", default: file });
const cjs = (file) => ({ types: "./workbus.d.cts", default: file });
const web_ = (file) => ({ types: "./workbus-web.d.mts", default: file });
const webEntry = "./web/index.js";
const subpathExports = Object.fromEntries(
  Object.keys(SUBPATHS).map((sub) => {
    const subEsm = (file) => ({ types: `./${sub}.d.mts`, default: file });
    const subCjs = (file) => ({ types: `./${sub}.d.cts`, default: file });
    return [
      `./${sub}`,
      {
        deno: subEsm(`./deno/${sub}.js`),
        bun: { import: subEsm(`./bun/${sub}.mjs`), require: subCjs(`./node/${sub}.cjs`) },
        node: { import: subEsm(`./node/${sub}.mjs`), require: subCjs(`./node/${sub}.cjs`) },
        default: subEsm(`./web/${sub}.js`),
      },
    ];
  }),
);
const manifest = {
  name: "workbus",
  version,
  description: field("description"),
  license: field("license") ?? "MIT",
  ...(field("repository") ? { repository: { type: "git", url: `git+${field("repository")}.git` } } : {}),
  type: "commonjs",
  main: "./node/index.cjs",
  module: webEntry,
  types: "./workbus.d.cts",
  exports: {
    ".": {
      // Edge and other runtimes (see js/entry-*.js); each condition comes before "node", which
      // Deno and Bun also match.
      workerd: web_("./workerd/index.js"),
      deno: esm("./deno/index.js"),
      bun: { import: esm("./bun/index.mjs"), require: cjs("./node/index.cjs") },
      node: { import: esm("./node/index.mjs"), require: cjs("./node/index.cjs") },
      browser: web_(webEntry),
      default: web_(webEntry),
    },
    // What only some users need (see SUBPATHS); Node's, Bun's and Deno's main entries have these
    // names too, the browser's has not.
    ...subpathExports,
    // The web entry under its own name in every runtime, and the wasm: the workerd entry imports
    // both by these names (self-references), as a workerd config or wrangler resolves them.
    "./web": web_(webEntry),
    "./core_bg.wasm": "./web/core_bg.wasm",
    "./package.json": "./package.json",
  },
  files: [
    "node/", "web/", "workerd/", "deno/", "bun/", "workbus.d.cts", "workbus.d.mts", "workbus-web.d.mts",
    ...Object.keys(SUBPATHS).flatMap((sub) => [`${sub}.d.cts`, `${sub}.d.mts`]),
    ...extras,
  ],
  // Loading the Node entry changes the process on Node 20 (a V8 flag: js/entry-node.js); every
  // other file only defines things.
  sideEffects: ["./node/index.cjs", "./node/index.mjs", "./bun/index.mjs"],
  engines: { node: ">=20" },
};
writeFileSync(join(pkg, "package.json"), JSON.stringify(manifest, null, 2) + "\n");
console.log(`assemble: pkg/ is workbus@${version}: ${names.length} named exports + default`);
