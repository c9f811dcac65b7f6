// `workbus/websocket`: both halves of Pipecat's WebSocket proxy.
export { WebSocketProxyClient } from "../websocket-proxy-client.js";
export { WebSocketProxyServer } from "../proxy-server.js";
