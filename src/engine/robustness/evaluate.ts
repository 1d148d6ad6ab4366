// Robust accuracy on one model: per stimulus, a PGD attack for each epsilon through the model's cross-entropy
// gradient graph (stage = the logits, label as the runtime target), and whether the adversarial example is still
// classified as the label.
import { decodeOnnxModel } from "../onnx/model.js";
import { SeededRandom } from "../random.js";
import { GradientSession } from "../runtime/sessions.js";
import { argmax } from "../validation/certificate.js";
import { attackSeed, checkAttack, oneHot, pgdAttack, type PgdAttack } from "./pgd.js";

export interface RobustOutcome {
  epsilon: number;
  /** the adversarial example is still classified as the label */
  correct: boolean;
  predicted: number;
}

export class RobustnessEvaluator {
  private constructor(
    private readonly session: GradientSession,
    readonly classes: number,
  ) {}

  static async create(modelBytes: Uint8Array, options: { threads?: number } = {}): Promise<RobustnessEvaluator> {
    const model = decodeOnnxModel(modelBytes);
    const logits = model.outputNames[0];
    const session = await GradientSession.create(modelBytes, logits, { loss: "crossEntropy", outputActivations: true, threads: options.threads });
    const classes = session.stageShape.reduce((p, q) => p * q, 1);
    return new RobustnessEvaluator(session, classes);
  }

  get inputShape(): number[] {
    return this.session.inputShape;
  }

  /** One stimulus against every epsilon of `attack` (attack.epsilon is ignored); draws seeded per (seed, key, eps). */
  async evaluate(
    x: Float32Array,
    label: number,
    attack: Omit<PgdAttack, "epsilon">,
    epsilons: readonly number[],
    seed: number,
    stimulusKey: string,
  ): Promise<RobustOutcome[]> {
    const target = oneHot(label, this.classes);
    const grad = new Float32Array(x.length);
    const gradient = async (xa: Float32Array) => (await this.session.run(xa, target, { grad })).grad;
    const out: RobustOutcome[] = [];
    for (const epsilon of epsilons) {
      const full = { ...attack, epsilon };
      checkAttack(full);
      const adv = await pgdAttack(x, full, new SeededRandom(attackSeed(seed, stimulusKey, epsilon)), gradient);
      const { activations } = await this.session.run(adv, target, { grad });
      const predicted = argmax(activations!);
      out.push({ epsilon, correct: predicted === label, predicted });
    }
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
