export * from "./similarity.js";
export * from "./null-distribution.js";
export * from "./certificate.js";
export * from "./augment.js";
export * from "./reference-null.js";
