// Helpers of the façade (js/workbus.js fills this in when it loads) for the modules that build
// on it, such as js/proxy-server.js, without making them part of the package's exports.
export const internals = {};
