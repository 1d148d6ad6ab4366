export { attackSeed, checkAttack, oneHot, pgdAttack, type LossGradient, type PgdAttack, type PgdNorm } from "./pgd.js";
export { RobustnessEvaluator, type RobustOutcome } from "./evaluate.js";
