// A `node --test` reporter that writes one JSON object: how many tests passed, failed and were
// skipped, and the files in which none ran. Suites and the per-file wrapper that Node reports
// for every file (named by the file's path) are not tests. Used by tests/lib/node-test.mjs.
export default async function* countTests(source) {
  const counts = { pass: 0, fail: 0, skipped: 0 };
  const ranIn = new Map(); // file -> tests that ran
  for await (const event of source) {
    if (event.type !== "test:pass" && event.type !== "test:fail") continue;
    const { name, file, skip, todo, details } = event.data;
    if (file && !ranIn.has(file)) ranIn.set(file, 0);
    if (details?.type === "suite" || name === file) continue;
    if (skip !== undefined || todo !== undefined) {
      counts.skipped++;
      continue;
    }
    counts[event.type === "test:pass" ? "pass" : "fail"]++;
    if (file) ranIn.set(file, ranIn.get(file) + 1);
  }
  const emptyFiles = [...ranIn].filter(([, n]) => n === 0).map(([f]) => f.split("/").pop());
  yield JSON.stringify({ ...counts, emptyFiles }) + "\n";
}
