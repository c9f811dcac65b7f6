// The CPU-bound job of bench/pool.mjs, the same for every implementation: a chain of `rounds`
// SHA-256 hashes starting from `seed` (about 2 ms for 1250 rounds on the bench machine).
import { createHash } from "node:crypto";

export function work(seed, rounds) {
  let digest = Buffer.from(String(seed));
  for (let i = 0; i < rounds; i++) digest = createHash("sha256").update(digest).digest();
  return digest.toString("hex");
}
