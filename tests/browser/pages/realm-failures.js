// The page of realm-failures.test.mjs (served as realm-failures.html): the package, initialised,
// as window.workbus. The tests spawn their own Web Workers (realm-failures.worker.js).
import init, * as workbus from "workbus";

window.ready = init().then(() => {
  window.workbus = workbus;
  window.realmScript = new URL("./realm-failures.worker.js", import.meta.url).href;
});
