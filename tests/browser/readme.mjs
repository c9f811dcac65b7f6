// The README's Web Worker example, as files the static server serves under /readme/.
//
// In the README section "Workers in Web Workers and worker threads", every ```js code block
// whose first line is a comment naming a file (`// main.js ...`, `// ocr-worker.js ...`)
// becomes that file, verbatim. The block that calls spawnWorker() is the page's module script;
// the others are Web Worker scripts. A generated index.html gives the page the import map
// {"imports": {"workbus": "/workbus/index.js"}} and loads the page script.
//
// The one change: import maps do not reach into Web Workers, so in the worker scripts the bare
// specifier "workbus" is replaced by "/workbus/index.js", which is what a bundler does.
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { pageHtml } from "./shell.mjs";

const readmePath = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."), "README.md");
export const SECTION = "Workers in Web Workers and worker threads";

/** The ```js blocks of the section, as [{ file, code }], in README order. */
export function readmeBlocks(text = readFileSync(readmePath, "utf8")) {
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((l) => /^##\s+/.test(l) && l.replace(/^##\s+/, "").trim() === SECTION);
  if (start < 0) return [];
  let end = lines.findIndex((l, i) => i > start && /^##\s+/.test(l));
  if (end < 0) end = lines.length;
  const blocks = [];
  let body = null;
  let lang = "";
  for (const line of lines.slice(start + 1, end)) {
    if (body === null) {
      const open = /^```(\w*)\s*$/.exec(line);
      if (open) [body, lang] = [[], open[1]];
    } else if (/^```\s*$/.test(line)) {
      const named = /^\/\/\s*([\w.-]+\.js)\b/.exec(body[0] ?? "");
      if (lang === "js" && named) blocks.push({ file: named[1], code: body.join("\n") + "\n" });
      body = null;
    } else {
      body.push(line);
    }
  }
  return blocks;
}

/** { "index.html", "<page script>.js", "<worker script>.js"... }, or {} without the section. */
export function readmeFiles() {
  const blocks = readmeBlocks();
  const page = blocks.find((b) => /\bspawnWorker\s*\(/.test(b.code));
  if (!page) return {};
  const files = {};
  for (const { file, code } of blocks) {
    files[file] = file === page.file ? code : code.replace(/(from\s+|import\s*\(\s*)(["'])workbus\2/g, '$1"/workbus/index.js"');
  }
  files["index.html"] = pageHtml(
    "the README's Web Worker example",
    `  // Resolves once ${page.file} has run to its end (its top-level awaits included).
  window.ready = import("./${page.file}");`,
  );
  return files;
}
