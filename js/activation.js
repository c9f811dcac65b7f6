// Activation arguments (Pipecat's WorkerActivationArgs and LLMWorkerActivationArgs).

import { checkBoolean, checkOptions, describe } from "./checks.js";

function withoutNullish(entries) {
  return Object.fromEntries(entries.filter(([, v]) => v !== undefined && v !== null));
}

function checkDict(obj) {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) throw new TypeError(`obj must be an object, got ${describe(obj)}`);
  return obj;
}

function checkMessages(value, name) {
  if (value !== undefined && value !== null && !Array.isArray(value)) throw new TypeError(`${name} must be an array, got ${describe(value)}`);
  return value ?? null;
}

function checkMetadata(value, name) {
  if (value !== undefined && value !== null && (typeof value !== "object" || Array.isArray(value))) {
    throw new TypeError(`${name} must be an object, got ${describe(value)}`);
  }
  return value ?? null;
}

export class WorkerActivationArgs {
  constructor(init) {
    const o = checkOptions(init, "init");
    this.metadata = checkMetadata(o.metadata, "init.metadata");
  }
  static fromDict(obj) {
    return new WorkerActivationArgs({ metadata: checkMetadata(checkDict(obj).metadata, "obj.metadata") });
  }
  toDict() {
    return withoutNullish([["metadata", this.metadata]]);
  }
}

export class LLMWorkerActivationArgs {
  constructor(init) {
    const o = checkOptions(init, "init");
    this.metadata = checkMetadata(o.metadata, "init.metadata");
    this.messages = checkMessages(o.messages, "init.messages");
    this._runLlm = checkBoolean(o.runLlm ?? undefined, "init.runLlm", undefined);
  }
  static fromDict(obj) {
    const o = checkDict(obj);
    const runLlm = o.run_llm ?? o.runLlm;
    return new LLMWorkerActivationArgs({
      metadata: checkMetadata(o.metadata, "obj.metadata"),
      messages: checkMessages(o.messages, "obj.messages"),
      runLlm: checkBoolean(runLlm ?? undefined, o.run_llm != null ? "obj.run_llm" : "obj.runLlm", undefined),
    });
  }
  /** As given; otherwise true exactly when there are messages to run. */
  get runLlm() {
    return this._runLlm ?? this.messages !== null;
  }
  toDict() {
    return withoutNullish([["metadata", this.metadata], ["messages", this.messages], ["run_llm", this._runLlm]]);
  }
}
