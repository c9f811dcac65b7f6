// The second page of realms.test.mjs (served as second.html): its runner's bus is a
// BroadcastChannelBus on ?channel=<name>, nothing else.
import init, * as workbus from "workbus";

window.ready = (async () => {
  await init();
  const channel = new URLSearchParams(location.search).get("channel");
  const runner = new workbus.WorkerRunner({ name: "second", bus: new workbus.BroadcastChannelBus(channel) });
  await runner.start();
  Object.assign(window, { workbus, runner });
})();
