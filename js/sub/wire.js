// `workbus/wire`: Pipecat's JSON codec on its own (see js/messages.js).
export { encodeMessage, decodeMessage } from "../messages.js";
