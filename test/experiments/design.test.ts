// The design generator (pure): the paper's balance, determinism by seed, fallbacks and refusals.
import { describe, expect, it } from "vitest";
import { type DesignInput, generateDesign } from "../../src/services/experiments/design.js";

const LABELS = Array.from({ length: 16 }, (_, i) => `class${i}`);
const stimuli = (n: number, prefix = "s") => Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, label: LABELS[i % 16] }));

function input(overrides: Partial<DesignInput> = {}): DesignInput {
  const sources = overrides.stimuli ?? stimuli(400);
  const conditions = overrides.conditions ?? ["m1", "m2"].flatMap((modelId) => ["a", "b", "c"].map((stage) => ({ modelId, stage })));
  return {
    modality: "IMAGE",
    seed: 11,
    participants: 5,
    stimuli: sources,
    screeningPool: stimuli(60, "x"),
    conditions,
    responseOptions: LABELS,
    labelMap: null,
    timing: { fixationMs: 300, stimulusMs: 300, maskMs: 300, practiceFixationMs: 500, practiceStimulusMs: 400, practiceMaskMs: 400 },
    counts: { practice: 16, demo: 12, catch: 16, headphone: 0 },
    screening: { demoTrials: 12, minCorrect: 7, headphoneMinCorrect: 0 },
    ...overrides,
    // Every stimulus has a metamer in every condition (unless given); every 10th one failed validation.
    metamers: overrides.metamers ?? conditions.flatMap((c, ci) => sources.map((s, si) => ({ modelId: c.modelId, stage: c.stage, stimulusId: s.id, metamerId: `${c.modelId}${c.stage}${s.id}`, passed: (si + ci) % 10 !== 0 }))),
  };
}

describe("generateDesign", () => {
  it("shows every source stimulus once per participant, with each condition ⌊n/c⌋ or ⌈n/c⌉ times", () => {
    const design = generateDesign(input());
    expect(design.trialLists).toHaveLength(5);
    for (const trials of design.trialLists) {
      expect(trials.map((t) => t.index)).toEqual(trials.map((_, i) => i));
      expect(trials.map((t) => t.phase).slice(0, 28)).toEqual([...Array(16).fill("practice"), ...Array(12).fill("demo")]);
      const main = trials.filter((t) => t.phase === "main");
      expect(main).toHaveLength(400);
      expect(new Set(main.map((t) => t.stimulusId)).size).toBe(400);
      expect(trials.filter((t) => t.phase === "catch")).toHaveLength(16);
      // 7 conditions: ⌈400/7⌉ = 58 slots each, 406 slots truncated to 400: each condition 52..58 times, and the
      // shortfall is spread (at most 6 conditions lose slots).
      const counts = new Map<string, number>();
      for (const t of main) counts.set(t.condition!, (counts.get(t.condition!) ?? 0) + 1);
      expect(counts.size).toBe(7);
      for (const c of counts.values()) expect(c).toBeGreaterThanOrEqual(52), expect(c).toBeLessThanOrEqual(58);
      expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(400);
      // Catch trials are interleaved with the main trials, not appended.
      const catchPositions = trials.flatMap((t, i) => (t.phase === "catch" ? [i] : []));
      expect(Math.max(...catchPositions) - Math.min(...catchPositions)).toBeGreaterThan(100);
      // Practice: the first half with the longer timing, then the main timing.
      expect(trials.slice(0, 16).map((t) => t.timing.stimulusMs)).toEqual([...Array(8).fill(400), ...Array(8).fill(300)]);
    }
    const summary = new Map(design.conditions.map((c) => [c.condition, c]));
    expect(summary.get("natural")!.total + [...summary.values()].filter((c) => c.condition !== "natural").reduce((a, c) => a + c.total, 0)).toBe(5 * 400);
    for (const c of design.conditions) expect(c.maxPerParticipant).toBeLessThanOrEqual(58);
  });

  it("with n a multiple of the number of conditions, every condition gets exactly n/c trials", () => {
    const design = generateDesign(input({ stimuli: stimuli(70), conditions: [1, 2, 3, 4, 5, 6].map((i) => ({ modelId: "m", stage: `s${i}` })), metamers: undefined }));
    for (const c of design.conditions) expect([c.minPerParticipant, c.maxPerParticipant]).toEqual([10, 10]);
  });

  it("shows the natural stimulus when the metamer failed validation or is missing, and says so", () => {
    const base = input();
    const metamers = base.metamers.filter((m) => m.stimulusId !== "s1"); // s1 has no metamer at all
    const design = generateDesign({ ...base, metamers });
    const main = design.trialLists.flat().filter((t) => t.phase === "main");
    for (const t of main) {
      if (t.condition === "natural") {
        expect([t.metamerId, t.shownNatural]).toEqual([null, false]);
        continue;
      }
      const m = metamers.find((x) => `${x.modelId}/${x.stage}` === t.condition && x.stimulusId === t.stimulusId);
      if (!m) expect([t.fallback, t.shownNatural, t.metamerId]).toEqual(["NO_METAMER", true, null]);
      else if (!m.passed) expect([t.fallback, t.shownNatural, t.metamerId]).toEqual(["FAILED_VALIDATION", true, null]);
      else expect([t.fallback, t.shownNatural, t.metamerId]).toEqual([null, false, m.metamerId]);
    }
    expect(main.some((t) => t.fallback === "FAILED_VALIDATION")).toBe(true);
    const shown = design.conditions.reduce((a, c) => a + c.shownNatural, 0);
    expect(shown).toBe(main.filter((t) => t.shownNatural).length);
  });

  it("is determined by its seed", () => {
    const a = generateDesign(input());
    expect(generateDesign(input())).toEqual(a);
    const b = generateDesign(input({ seed: 12 }));
    expect(b.trialLists[0].map((t) => t.stimulusId)).not.toEqual(a.trialLists[0].map((t) => t.stimulusId));
    // Participants differ from each other.
    expect(a.trialLists[1].map((t) => t.condition)).not.toEqual(a.trialLists[0].map((t) => t.condition));
  });

  it("maps labels through a label map to the coarse response options", () => {
    const map = Object.fromEntries(LABELS.map((l, i) => [l, i < 8 ? "animal" : "object"]));
    const design = generateDesign(input({ labelMap: map, responseOptions: ["animal", "object"] }));
    const t = design.trialLists[0].find((x) => x.phase === "main" && x.stimulusId === "s3")!;
    expect(t.correctLabel).toBe("animal");
    expect(t.options).toEqual(["animal", "object"]);
  });

  it("builds an audio design with the headphone check first", () => {
    const design = generateDesign(
      input({
        modality: "AUDIO",
        timing: { fixationMs: 500, stimulusMs: 2000, maskMs: 0, practiceFixationMs: 500, practiceStimulusMs: 2000, practiceMaskMs: 0, clipMs: 2000 },
        counts: { practice: 0, demo: 22, catch: 16, headphone: 6 },
        screening: { demoTrials: 22, minCorrect: 5, headphoneMinCorrect: 5 },
      }),
    );
    const trials = design.trialLists[0];
    expect(trials.slice(0, 6).every((t) => t.phase === "headphone" && t.options.join() === "1,2,3")).toBe(true);
    for (const t of trials.slice(0, 6)) {
      expect(t.headphone!.antiphase).not.toBe(t.headphone!.quieter);
      expect(t.correctLabel).toBe(String(t.headphone!.quieter + 1));
    }
    expect(trials.slice(6, 28).every((t) => t.phase === "demo")).toBe(true);
  });

  it("refuses designs that cannot be built or balanced, saying why", () => {
    const refuse = (o: Partial<DesignInput>, message: RegExp) => {
      try {
        generateDesign(input(o));
      } catch (e) {
        expect((e as { code: string }).code).toBe("BAD_USER_INPUT");
        expect((e as Error).message).toMatch(message);
        return;
      }
      throw new Error(`expected a refusal matching ${message}`);
    };
    refuse({ stimuli: stimuli(6), metamers: [] }, /cannot be balanced: each of the 7 conditions .* only 6 source stimuli/);
    refuse({ conditions: [], metamers: [] }, /no metamer condition/);
    refuse({ metamers: input().metamers.map((m) => (m.modelId === "m2" && m.stage === "b" ? { ...m, passed: false } : m)) }, /condition m2 stage 'b' has no metamer that passed validation/);
    refuse({ responseOptions: LABELS.slice(0, 15) }, /the answer 'class15' .* is not one of the response options/);
    refuse({ labelMap: { class0: "animal" }, responseOptions: ["animal", "object"] }, /labelMap: expected an entry for every stimulus label, got none for 'class1'/);
    refuse({ participants: 0 }, /participants: expected an integer from 1 to 1000, got 0/);
    refuse({ screening: { demoTrials: 12, minCorrect: 13, headphoneMinCorrect: 0 } }, /screening.minCorrect: expected an integer from 0 to 12, got 13/);
    refuse({ counts: { practice: 16, demo: 12, catch: 16, headphone: 6 } }, /headphone check is for AUDIO/);
    refuse({ screeningPool: [] }, /practice, demo and catch trials need natural stimuli/);
    refuse({ responseOptions: ["a", "a"] }, /distinct labels, got 'a' twice/);
    refuse({ timing: { fixationMs: -1, stimulusMs: 300, maskMs: 300, practiceFixationMs: 500, practiceStimulusMs: 400, practiceMaskMs: 400 } }, /timing.fixationMs/);
  });
});
