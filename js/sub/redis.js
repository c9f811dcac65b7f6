// `workbus/redis`: RedisBus, Pipecat's bus over Redis pub/sub.
export { RedisBus } from "../redis-bus.js";
