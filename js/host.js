// What a runtime's entry hands the façade, so that the façade itself imports no runtime module
// (the web bundle must not mention `node:` modules). The Node entry sets `workerThreads`.
export const host = { workerThreads: undefined };
