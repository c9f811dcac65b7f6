// A private PostgreSQL server with the pgmq extension for a test file (scripts/setup-postgres
// installs both): a fresh cluster in a temp directory, on 127.0.0.1 on a free port, trust
// authentication for the user `postgres`, no durability; stopped by stop() — and also when this
// Node process goes away without calling it (the server runs under a small shell guard that stops
// it when our pipe to it closes, as tests/interop/redis.mjs does for redis-server).
// PostgreSQL refuses to run as root: as root, the server runs as the `postgres` user (which
// Debian's package creates) and owns the temp directory.
import { execFile, spawn } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { freePort } from "../lib/free-port.mjs";

const run = promisify(execFile);

/** The directory of initdb and postgres: $WORKBUS_PG_BIN, or Debian's newest /usr/lib/postgresql/<v>/bin. */
function serverBin() {
  if (process.env.WORKBUS_PG_BIN) return process.env.WORKBUS_PG_BIN;
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, "bin", "initdb"))) : [];
  if (versions.length === 0) throw new Error("no PostgreSQL server under /usr/lib/postgresql: run scripts/setup-postgres");
  versions.sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  return join(root, versions[0], "bin");
}

/** The command prefix that runs a program as the `postgres` user when we are root, else nothing. */
async function asServerUser() {
  if (process.getuid?.() !== 0) return { prefix: [], owner: null };
  const [uid, gid] = await Promise.all(["-u", "-g"].map(async (flag) => Number((await run("id", [flag, "postgres"])).stdout.trim())));
  return { prefix: ["setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups"], owner: { uid, gid } };
}

// Runs the server in the background and waits on stdin; when stdin closes (stop(), or this
// process dying) the guard asks for a fast shutdown (SIGINT: clients are disconnected), waits
// for it and removes the directory.
const GUARD =
  'trap "" INT; "$0" "$@" & pid=$!; cat >/dev/null; kill -INT "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$WORKBUS_PG_DIR"; exit 0';

/** Resolves a connected pg.Client once the server accepts connections, or null by the deadline. */
async function connectWhenUp(url, isExited, deadline) {
  while (Date.now() < deadline && !isExited()) {
    const client = new pg.Client({ connectionString: url });
    client.on("error", () => {});
    try {
      await client.connect();
      return client;
    } catch {
      await client.end().catch(() => {});
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return null;
}

/** A fresh cluster in its own temp directory (which the guard removes when the server stops). */
async function initCluster(bin, user) {
  const dir = mkdtempSync(join(tmpdir(), "workbus-pg-"));
  const data = join(dir, "data");
  try {
    mkdirSync(data, { mode: 0o700 });
    if (user.owner) for (const p of [dir, data]) chownSync(p, user.owner.uid, user.owner.gid);
    const [cmd, ...rest] = [...user.prefix, join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C"];
    await run(cmd, rest);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${e.stderr?.trim() || e.message}`);
  }
  return { dir, data };
}

async function startOnce(bin, user) {
  const { dir, data } = await initCluster(bin, user);
  const port = await freePort();
  const args = [
    "-D", data,
    "-p", String(port),
    "-h", "127.0.0.1",
    "-k", dir, // the Unix socket stays in the temp directory
    "-F", // no fsync
    "-c", "full_page_writes=off",
    "-c", "synchronous_commit=off",
    "-c", "max_connections=100",
  ];
  const [cmd, ...rest] = [...user.prefix, join(bin, "postgres"), ...args];
  const guard = spawn("sh", ["-c", GUARD, cmd, ...rest], {
    stdio: ["pipe", "ignore", "pipe"],
    env: { ...process.env, WORKBUS_PG_DIR: dir },
  });
  let stderr = "";
  guard.stderr.on("data", (d) => (stderr += d));
  let exited = false;
  const exitedPromise = new Promise((resolve) => guard.once("exit", () => ((exited = true), resolve())));
  guard.once("error", () => {});
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const client = await connectWhenUp(url, () => exited, Date.now() + 20_000);
  if (client) {
    try {
      await client.query("CREATE EXTENSION pgmq");
    } finally {
      await client.end();
    }
    let stopped = null;
    const stop = () =>
      (stopped ??= (async () => {
        guard.stdin.end();
        const timer = setTimeout(() => guard.kill("SIGKILL"), 10_000);
        await exitedPromise;
        clearTimeout(timer);
        rmSync(dir, { recursive: true, force: true });
      })());
    return { port, url, stop };
  }
  guard.stdin.end();
  await exitedPromise;
  rmSync(dir, { recursive: true, force: true });
  return { error: `postgres did not start on port ${port}: ${stderr.trim() || "(no output)"}` };
}

/**
 * Starts a private PostgreSQL server with pgmq created in its database `postgres`; resolves with
 * { port, url, stop() }. stop() resolves once the server has exited and its directory is gone.
 */
export async function startPostgres() {
  const bin = serverBin();
  const user = await asServerUser();
  let last;
  for (let attempt = 0; attempt < 3; attempt++) {
    const r = await startOnce(bin, user);
    if (!r.error) return r;
    last = r.error;
  }
  throw new Error(last);
}

/**
 * For one test: pg Pools on `url` and runners on PgmqBus instances of them; when the test ends,
 * the runners are cancelled, then the buses closed, then the pools ended (in that order, so
 * nothing uses an ended pool).
 */
export function pgmqFixture(t, url, { WorkerRunner, PgmqBus }) {
  const runners = [];
  const buses = [];
  const pools = [];
  t.after(async () => {
    for (const runner of runners) await runner.cancel();
    for (const bus of buses) await bus.close();
    for (const p of pools) await p.end().catch(() => {});
  });
  const pool = () => {
    const p = new pg.Pool({ connectionString: url, max: 4 });
    p.on("error", () => {}); // an idle connection the server closed is replaced on next use
    pools.push(p);
    return p;
  };
  return {
    pool,
    /** A PgmqBus (on a pool of its own unless `options.pool`), closed when the test ends. */
    bus(options) {
      const bus = new PgmqBus({ ...options, pool: options?.pool ?? pool() });
      buses.push(bus);
      return bus;
    },
    /** A started runner on `bus` (once it is ready) with `workers`. */
    async runnerOn(bus, name, workers, options) {
      if (!buses.includes(bus)) buses.push(bus);
      await bus.ready;
      const runner = new WorkerRunner({ name, bus, ...options });
      runners.push(runner);
      await runner.addWorkers(...workers);
      await runner.start();
      return runner;
    },
  };
}
