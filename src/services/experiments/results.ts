import type { ExperimentRecord, ParticipantRecord } from "../../store/experiments.js";
import type { HumanScoreInput } from "../../store/studies.js";
import type { Store } from "../../store/store.js";
import { NATURAL } from "./design.js";
import { type Answer, conditionScores } from "./scoring.js";
import type { StoredDesign, StoredTrial } from "./types.js";

/**
 * A kept participant's results as HumanScore rows of the experiment's study, the rows the imported paper data uses,
 * so recognizability(observer: HUMAN), recognizabilityCurve, humanVsModel, compareRecognizability, idiosyncrasy and
 * the CSV exports read them unchanged (one code path):
 * - per metamer condition (model, stage): HUMAN = the participant's proportion correct; NETWORK = the generating
 *   model's accuracy (stored Recognition rows) on exactly the metamers that participant saw, null when none of them
 *   was recognized by it yet;
 * - the natural condition, under stage "natural", once per model of the experiment (the paper lists natural with
 *   every model): HUMAN the same proportion, NETWORK that model's accuracy on the natural stimuli the participant saw.
 * `experiment` is the experiment's id, `participant` the participant's label (p1, p2, ... or the imported id).
 */
export async function writeParticipantScores(store: Store, experiment: ExperimentRecord, participant: ParticipantRecord, answers: Answer[]): Promise<number> {
  if (!experiment.studyId) return 0;
  const design = experiment.design as unknown as StoredDesign;
  const scores = conditionScores(participant.trials as StoredTrial[], answers);
  const models = [...new Set(design.conditions.filter((c) => c.modelId !== null).map((c) => c.modelId!))];
  const natural = scores.get(NATURAL);
  const metamerIds = [...scores.values()].flatMap((s) => s.metamerIds);
  const recognitions = await store.experiments.recognitions(models, metamerIds, natural?.stimulusIds ?? []);
  const flag = new Map(recognitions.map((r) => [`${r.recognizerId}|${r.metamerId ?? r.stimulusId}`, r.correct]));
  const networkAccuracy = (modelId: string, ids: string[]): number | null => {
    const known = ids.map((id) => flag.get(`${modelId}|${id}`)).filter((v): v is boolean => v !== undefined);
    // Partial coverage would score the network on other stimuli than the participant's: report nothing instead.
    return known.length === ids.length && ids.length > 0 ? known.filter(Boolean).length / known.length : null;
  };
  const rows: HumanScoreInput[] = [];
  const push = (modelId: string, stage: string, human: number, network: number | null) => {
    rows.push({ modelId, experiment: experiment.id, participant: participant.label, stage, observer: "HUMAN", proportionCorrect: human });
    rows.push({ modelId, experiment: experiment.id, participant: participant.label, stage, observer: "NETWORK", proportionCorrect: network });
  };
  for (const c of design.conditions) {
    const s = scores.get(c.condition);
    if (!s || s.n === 0) continue;
    if (c.modelId === null) {
      for (const modelId of models) push(modelId, NATURAL, s.correct / s.n, networkAccuracy(modelId, s.stimulusIds));
    } else {
      push(c.modelId, c.stage, s.correct / s.n, networkAccuracy(c.modelId, s.metamerIds));
    }
  }
  await store.experiments.deleteParticipantScores(experiment.studyId, experiment.id, participant.label);
  return store.studies.insertHumanScores(experiment.studyId, rows);
}
