// A Piscina worker of bench/pool.mjs: one task is one job of bench/realm/pool-work.mjs.
import { work } from "./pool-work.mjs";

export default ({ seed, rounds }) => work(seed, rounds);
