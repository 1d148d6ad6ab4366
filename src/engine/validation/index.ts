export * from "./similarity.js";
export * from "./null-distribution.js";
export * from "./certificate.js";
