export * from "./config.js";
export * from "./init.js";
export * from "./checkpoint.js";
export * from "./history.js";
export * from "./loop.js";
