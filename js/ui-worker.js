// Pipecat's `BaseUIWorker` (`pipecat.workers.base_ui_worker`): a worker whose job groups show on
// a client UI. The rules (which UI messages go out, and when) are the engine's.

import { Worker } from "./worker.js";

/**
 * A worker that reports every job group it requests to the client UI, as broadcast Pipecat UI
 * messages: `BusUIJobGroupStartedMessage` once the group is sent, `BusUIJobUpdateMessage` per
 * update, `BusUIJobCompletedMessage` per worker's answer (or stream end), and one
 * `BusUIJobGroupCompletedMessage` when the group completes or is cancelled (workers cut short
 * are reported `cancelled`). A `BusUIEventMessage` named `"__cancel_job_group"` (broadcast or
 * addressed to this worker) whose payload is `{ job_id, reason? }` cancels that group, if it
 * is cancellable, with `reason` or `"cancelled by user"`.
 */
export class UIWorker extends Worker {
  constructor(name, options) {
    super(name, options);
    this._requester.setUi(true);
  }
}
