#!/usr/bin/env node
// Extracts every ```ts code block of a README into its own module, readme-<n>.ts, so that
// `tsc` can type-check the documentation against the package's declarations.
//
// Usage:
//   node extract-readme.mjs <README.md> <outdir>
//
// Type check, in a project where the packed `workbus` package is installed (so that
// `import ... from "workbus"` resolves to its .d.ts) and `typescript` is available:
//   1. copy tests/types/ (tsconfig.json, api.ts, extract-readme.mjs) into <dir> inside that project
//   2. node <dir>/extract-readme.mjs <repo>/README.md <dir>
//   3. tsc -p <dir>
// tsconfig.json includes every *.ts file next to it: api.ts and the generated readme-<n>.ts.
// Stale readme-<n>.ts files in <outdir> are removed first. Exits 1 if the README has no
// ```ts block.

import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";

const [readmePath, outDir] = process.argv.slice(2);
if (!readmePath || !outDir) {
  console.error("usage: node extract-readme.mjs <README.md> <outdir>");
  process.exit(2);
}

const lines = readFileSync(readmePath, "utf8").split(/\r?\n/);
const blocks = [];
let current = null;
let fence = "";
lines.forEach((line, index) => {
  if (current === null) {
    const open = /^\s*(`{3,}|~{3,})\s*([\w-]*)/.exec(line);
    if (open) {
      fence = open[1];
      current = open[2] === "ts" || open[2] === "typescript" ? { start: index + 1, body: [] } : { skip: true };
    }
  } else if (line.trim() === fence) {
    if (!current.skip) blocks.push(current);
    current = null;
  } else if (!current.skip) {
    current.body.push(line);
  }
});
if (current !== null) {
  console.error(`${readmePath}: unterminated code block`);
  process.exit(1);
}
if (blocks.length === 0) {
  console.error(`${readmePath}: no \`\`\`ts code block found`);
  process.exit(1);
}

mkdirSync(outDir, { recursive: true });
for (const name of readdirSync(outDir)) {
  if (/^readme-\d+\.ts$/.test(name)) rmSync(join(outDir, name));
}
blocks.forEach((block, i) => {
  const file = join(outDir, `readme-${i + 1}.ts`);
  const header = `// Extracted from ${basename(readmePath)}, line ${block.start + 1}.\n`;
  // Every block must be a module on its own; `export {}` makes that true even without imports.
  writeFileSync(file, `${header}${block.body.join("\n")}\n\nexport {};\n`);
});
console.log(`extracted ${blocks.length} TypeScript block(s) from ${readmePath} into ${resolve(outDir)}`);
