// The Errors of failed jobs and job groups.

export class JobError extends Error {
  constructor(reason, options = {}) {
    super(reason, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "JobError";
    this.reason = reason;
    for (const key of ["jobId", "workerName", "status", "response"]) {
      if (options[key] !== undefined) this[key] = options[key];
    }
  }
}

export class JobGroupError extends JobError {
  constructor(reason, options = {}) {
    super(reason, options);
    this.name = "JobGroupError";
    this.responses = options.responses ?? {};
  }
}

/** The Error of a failed job or group, from the engine's failure record. */
export function toError(failure, group) {
  const { reason, ...details } = failure;
  return group ? new JobGroupError(reason, details) : new JobError(reason, details);
}
