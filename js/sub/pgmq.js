// `workbus/pgmq`: PgmqBus, Pipecat's bus over PostgreSQL (pgmq).
export { PgmqBus } from "../pgmq-bus.js";
