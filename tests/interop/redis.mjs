// A private redis-server for a test file: 127.0.0.1 on a free port, no persistence, in a temp
// directory, stopped by stop() — and also when this Node process goes away without calling it
// (the server runs under a small shell guard that kills it when our pipe to it closes).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../lib/free-port.mjs";

const REDIS = process.env.WORKBUS_REDIS_SERVER || "redis-server";

/** Resolves true once something on `port` answers PING with +PONG. */
export function ping(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let data = "";
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on("error", () => done(false));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      data += chunk;
      if (data.includes("\r\n")) done(data.startsWith("+PONG"));
    });
  });
}

// Runs redis-server in the background and waits on stdin; when stdin closes (stop(), or this
// process dying) the guard kills the server, waits for it and removes its directory.
const GUARD =
  'trap "" INT; "$0" "$@" & pid=$!; cat >/dev/null; kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$WORKBUS_REDIS_DIR"; exit 0';

async function startOnce(dir) {
  const port = await freePort();
  const args = [
    "--bind", "127.0.0.1",
    "--port", String(port),
    "--save", "",
    "--appendonly", "no",
    "--dir", dir,
    "--daemonize", "no",
    "--protected-mode", "yes",
    "--loglevel", "warning",
    "--logfile", "",
  ];
  const guard = spawn("sh", ["-c", GUARD, REDIS, ...args], {
    stdio: ["pipe", "ignore", "pipe"],
    env: { ...process.env, WORKBUS_REDIS_DIR: dir },
  });
  let stderr = "";
  guard.stderr.on("data", (d) => (stderr += d));
  let exited = false;
  const exitedPromise = new Promise((resolve) => guard.once("exit", () => ((exited = true), resolve())));
  guard.once("error", () => {});
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && !exited) {
    if (await ping(port)) {
      let stopped = null;
      const stop = () =>
        (stopped ??= (async () => {
          guard.stdin.end();
          const timer = setTimeout(() => guard.kill("SIGKILL"), 5000);
          await exitedPromise;
          clearTimeout(timer);
        })());
      return { port, url: `redis://127.0.0.1:${port}`, stop, stderr: () => stderr };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  guard.stdin.end();
  guard.kill("SIGKILL");
  await exitedPromise;
  return { error: `redis-server did not start on port ${port}: ${stderr.trim() || "(no output)"}` };
}

/**
 * Starts a private redis-server; resolves with { port, url, stop() }. stop() resolves once the
 * server has exited and its temp directory is gone.
 */
export async function startRedis() {
  const dir = mkdtempSync(join(tmpdir(), "workbus-redis-"));
  let last;
  for (let attempt = 0; attempt < 3; attempt++) {
    const r = await startOnce(dir);
    if (!r.error) {
      const stop = r.stop;
      return {
        port: r.port,
        url: r.url,
        stop: async () => {
          await stop();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    last = r.error;
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(last);
}
