import { JSONObjectResolver } from "graphql-scalars";
import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { ModalityEnum } from "../enums.js";

export enum ExperimentStatusEnum {
  OPEN = "OPEN",
  CLOSED = "CLOSED",
}
export enum ParticipantStatusEnum {
  PENDING = "PENDING",
  STARTED = "STARTED",
  COMPLETED = "COMPLETED",
  EXCLUDED = "EXCLUDED",
}
export enum TrialPhaseEnum {
  practice = "practice",
  demo = "demo",
  main = "main",
  catch = "catch",
  headphone = "headphone",
}
registerEnumType(ExperimentStatusEnum, { name: "ExperimentStatus" });
registerEnumType(ParticipantStatusEnum, {
  name: "ParticipantStatus",
  description: "PENDING: link not opened; STARTED; COMPLETED: kept, scored; EXCLUDED: failed screening, catch trials below the threshold, or incomplete",
});
registerEnumType(TrialPhaseEnum, { name: "TrialPhase" });

@InputType({ description: "Durations in ms; unset fields take the modality's defaults (IMAGE 300/300/300, practice 500/400/400; AUDIO clips of 2000)" })
export class ExperimentTimingInput {
  @Field(() => Int, { nullable: true }) fixationMs?: number;
  @Field(() => Int, { nullable: true }) stimulusMs?: number;
  @Field(() => Int, { nullable: true }) maskMs?: number;
  @Field(() => Int, { nullable: true, description: "the first half of the practice trials" }) practiceFixationMs?: number;
  @Field(() => Int, { nullable: true }) practiceStimulusMs?: number;
  @Field(() => Int, { nullable: true }) practiceMaskMs?: number;
  @Field(() => Int, { nullable: true, description: "AUDIO: clip length" }) clipMs?: number;
}

@InputType({ description: "An experiment from synthesis batches: one balanced trial list and one participation link per participant" })
export class CreateExperimentInput {
  @Field() name: string;
  @Field(() => ID, { description: "the set the batches' metamers were made from" }) stimulusSetId: string;
  @Field(() => [ID], { description: "synthesis batches whose metamers (model x stage) are the conditions" }) batchIds: string[];
  @Field(() => Int, { description: "how many participation links (trial lists) to make" }) participants: number;
  @Field(() => ModalityEnum, { nullable: true, description: "default: the stimulus set's" }) modality?: ModalityEnum;
  @Field(() => [String], { nullable: true, description: "the answers offered; default: the set's class labels, or the label map's coarse labels" })
  responseOptions?: string[];
  @Field(() => JSONObjectResolver, { nullable: true, description: "stimulus label -> response option (coarse label)" })
  labelMap?: Record<string, string>;
  @Field(() => ExperimentTimingInput, { nullable: true }) timing?: ExperimentTimingInput;
  @Field(() => Int, { nullable: true, description: "practice trials with feedback (IMAGE default 16, AUDIO 0)" }) practiceTrials?: number;
  @Field(() => Int, { nullable: true, description: "scored demo trials (IMAGE 12, AUDIO 22)" }) demoTrials?: number;
  @Field(() => Int, { nullable: true, description: "demo trials to answer correctly to continue (IMAGE 7, AUDIO 5)" }) minDemoCorrect?: number;
  @Field(() => Int, { nullable: true, description: "catch trials (default 16)" }) catchTrials?: number;
  @Field(() => Float, { nullable: true, description: "catch-trial accuracy below this excludes at completion (default 0.75)" }) catchThreshold?: number;
  @Field(() => Int, { nullable: true, description: "AUDIO: headphone-check trials (default 6)" }) headphoneTrials?: number;
  @Field(() => Int, { nullable: true, description: "AUDIO: headphone-check trials to answer correctly (default 5)" }) headphoneMinCorrect?: number;
  @Field({ nullable: true }) instructions?: string;
  @Field({ nullable: true }) consent?: string;
  @Field({ nullable: true, description: "where a finished participant is sent (e.g. Prolific's completion URL)" }) completionUrl?: string;
  @Field({ nullable: true, description: "the completion code shown to a finished participant" }) completionCode?: string;
  @Field({ nullable: true, description: "where a participant who failed the screening is sent (default completionUrl)" }) screenedOutUrl?: string;
  @Field({ nullable: true }) screenedOutCode?: string;
  @Field(() => Int, { nullable: true, description: "the design's seed (default 0)" }) seed?: number;
}

@ObjectType()
export class ExperimentTiming {
  @Field(() => Int) fixationMs: number;
  @Field(() => Int) stimulusMs: number;
  @Field(() => Int) maskMs: number;
  @Field(() => Int) practiceFixationMs: number;
  @Field(() => Int) practiceStimulusMs: number;
  @Field(() => Int) practiceMaskMs: number;
  @Field(() => Int, { nullable: true }) clipMs?: number;
}

@ObjectType({ description: "A condition of the design and the main trials it gets" })
export class ExperimentCondition {
  @Field({ description: "'natural' or '<modelId>/<stage>'" }) condition: string;
  @Field(() => ID, { nullable: true }) modelId: string | null;
  @Field() stage: string;
  @Field(() => Int, { description: "main trials per participant, at least" }) minPerParticipant: number;
  @Field(() => Int, { description: "main trials per participant, at most (⌈stimuli / conditions⌉)" }) maxPerParticipant: number;
  @Field(() => Int, { description: "expected main trials over all participants" }) total: number;
  @Field(() => Int, { description: "of those, trials that show the natural stimulus because the metamer failed validation or is missing" })
  shownNatural: number;
}

@ObjectType()
export class TrialTiming {
  @Field(() => Int) fixationMs: number;
  @Field(() => Int) stimulusMs: number;
  @Field(() => Int) maskMs: number;
}

@ObjectType({ description: "One trial of a participant's list as the lab sees it (the page sees none of the condition fields)" })
export class DesignTrial {
  @Field(() => Int) index: number;
  @Field(() => TrialPhaseEnum) phase: TrialPhaseEnum;
  @Field(() => String, { nullable: true }) condition: string | null;
  @Field(() => ID, { nullable: true }) modelId: string | null;
  @Field(() => String, { nullable: true }) stage: string | null;
  @Field(() => ID, { nullable: true }) stimulusId: string | null;
  @Field(() => ID, { nullable: true }) metamerId: string | null;
  @Field() shownNatural: boolean;
  @Field(() => String, { nullable: true, description: "FAILED_VALIDATION or NO_METAMER when shownNatural" }) fallback: string | null;
  @Field() correctLabel: string;
  @Field(() => TrialTiming) timing: TrialTiming;
}

@ObjectType()
export class ExperimentParticipant {
  @Field(() => ID) id: string;
  @Field() label: string;
  @Field(() => ParticipantStatusEnum) status: ParticipantStatusEnum;
  @Field(() => String, { nullable: true }) exclusionReason: string | null;
  @Field(() => String, { nullable: true }) prolificPid: string | null;
  @Field(() => String, { nullable: true }) prolificStudyId: string | null;
  @Field(() => String, { nullable: true }) prolificSessionId: string | null;
  @Field(() => Date, { nullable: true }) startedAt: Date | null;
  @Field(() => Date, { nullable: true }) completedAt: Date | null;
  @Field(() => Int) answered: number;
  @Field(() => Int) trialCount: number;
  @Field(() => [DesignTrial]) trials: DesignTrial[];
  @Field(() => JSONObjectResolver, { nullable: true, description: "an imported Prolific demographic export's row" })
  demographics: Record<string, string> | null;
}

@ObjectType()
export class ParticipantStatusCounts {
  @Field(() => Int) pending: number;
  @Field(() => Int) started: number;
  @Field(() => Int) completed: number;
  @Field(() => Int) excluded: number;
}

@ObjectType()
export class ExperimentCompletion {
  @Field(() => String, { nullable: true }) redirectUrl: string | null;
  @Field(() => String, { nullable: true }) code: string | null;
  @Field(() => String, { nullable: true }) screenedOutRedirectUrl: string | null;
  @Field(() => String, { nullable: true }) screenedOutCode: string | null;
}

@ObjectType()
export class ExperimentCounts {
  @Field(() => Int) practice: number;
  @Field(() => Int) demo: number;
  @Field(() => Int) catch: number;
  @Field(() => Int) headphone: number;
}

@ObjectType()
export class ExperimentScreening {
  @Field(() => Int) demoTrials: number;
  @Field(() => Int) minCorrect: number;
  @Field(() => Int) headphoneMinCorrect: number;
}

@ObjectType({ description: "A human recognizability experiment: its design, conditions and participants" })
export class Experiment {
  @Field(() => ID) id: string;
  @Field() name: string;
  @Field(() => ModalityEnum) modality: ModalityEnum;
  @Field(() => ExperimentStatusEnum) status: ExperimentStatusEnum;
  @Field(() => Int) seed: number;
  @Field(() => [ID]) batchIds: string[];
  @Field(() => ID) stimulusSetId: string;
  @Field(() => ID, { nullable: true, description: "the study holding the results (HumanScore rows)" }) studyId: string | null;
  @Field(() => Date) createdAt: Date;
  @Field(() => ExperimentTiming) timing: ExperimentTiming;
  @Field(() => [String]) responseOptions: string[];
  @Field(() => JSONObjectResolver, { nullable: true }) labelMap: Record<string, string> | null;
  @Field() instructions: string;
  @Field() consent: string;
  @Field(() => ExperimentCounts) counts: ExperimentCounts;
  @Field(() => ExperimentScreening) screening: ExperimentScreening;
  @Field(() => Float) catchThreshold: number;
  @Field(() => ExperimentCompletion) completion: ExperimentCompletion;
  @Field(() => Int, { description: "main trials per participant (the source stimuli)" }) mainTrials: number;
  @Field(() => [ExperimentCondition], { description: "expected trials per condition" }) conditions: ExperimentCondition[];
  @Field(() => ParticipantStatusCounts) statusCounts: ParticipantStatusCounts;
  @Field(() => [ExperimentParticipant]) participants: ExperimentParticipant[];
}

@ObjectType({ description: "A participant's link; the token is shown only here, once" })
export class ParticipationLink {
  @Field(() => ID) participantId: string;
  @Field() label: string;
  @Field() token: string;
  @Field({ description: "<hub>/experiments/<id>/run?token=...; add Prolific's PROLIFIC_PID, STUDY_ID and SESSION_ID parameters" }) url: string;
}

@ObjectType()
export class ExperimentCreation {
  @Field(() => Experiment) experiment: Experiment;
  @Field(() => [ParticipationLink]) links: ParticipationLink[];
  @Field({ description: "one URL for every participant (Prolific's study URL, with PROLIFIC_PID, STUDY_ID and SESSION_ID added): each new Prolific id claims a free place; shown once" })
  entryUrl: string;
}

@ObjectType({ description: "An experiment's results as CSV; the per participant x condition scores are also HumanScore rows of its study" })
export class ExperimentResults {
  @Field(() => ID) experimentId: string;
  @Field(() => ID, { nullable: true }) studyId: string | null;
  @Field({ description: "one row per answered trial, with its condition, stimulus, metamer, answer, timing and frames" }) trialsCsv: string;
  @Field({ description: "one row per participant x condition: n, n_correct, proportion_correct; status and exclusion reason" }) aggregateCsv: string;
}

export enum ImportFormatEnum {
  JSPSYCH_JSON = "JSPSYCH_JSON",
  JSPSYCH_CSV = "JSPSYCH_CSV",
  PSYCHOJS_CSV = "PSYCHOJS_CSV",
}
export enum RtUnitEnum {
  MS = "MS",
  S = "S",
}
registerEnumType(ImportFormatEnum, { name: "ImportFormat", description: "jsPsych's data export (JSON, or CSV as jsPsych.data.get().csv() writes it), or a PsychoJS/Pavlovia CSV" });
registerEnumType(RtUnitEnum, { name: "RtUnit" });

@InputType({ description: "Which column holds what; unset: our page's trial fields (jsPsych) or PsychoJS Builder's (key_resp.keys, key_resp.rt)" })
export class ImportColumnsInput {
  @Field({ nullable: true, description: "the participant's label (p1...), id or Prolific id (default 'participant')" }) participant?: string;
  @Field({ nullable: true, description: "the trial's index in the participant's list (default 'trialIndex'); rows without it are skipped" }) trialIndex?: string;
  @Field({ nullable: true }) response?: string;
  @Field({ nullable: true }) rt?: string;
  @Field({ nullable: true }) onsetMs?: string;
  @Field({ nullable: true }) offsetMs?: string;
  @Field({ nullable: true }) stimulusFrames?: string;
  @Field({ nullable: true }) refreshHz?: string;
}

@InputType()
export class ImportExperimentResponsesInput {
  @Field(() => ID) experimentId: string;
  @Field(() => ImportFormatEnum) format: ImportFormatEnum;
  @Field({ description: "the file's contents" }) data: string;
  @Field(() => ImportColumnsInput, { nullable: true }) columns?: ImportColumnsInput;
  @Field({ nullable: true, description: "the response column holds the index of the button pressed" }) responseAsIndex?: boolean;
  @Field(() => RtUnitEnum, { nullable: true, description: "default: MS for jsPsych, S for PsychoJS" }) rtUnit?: RtUnitEnum;
}

@ObjectType()
export class ExperimentImport {
  @Field(() => Int) participants: number;
  @Field(() => Int) responses: number;
  @Field(() => Int) completed: number;
  @Field(() => Int) excluded: number;
  @Field(() => Int, { description: "rows without a trial index (instructions, fullscreen, ...)" }) skippedRows: number;
}

@ObjectType()
export class DemographicsImport {
  @Field(() => Int) matched: number;
  @Field(() => Int, { description: "rows whose participant never reached the hub" }) unmatched: number;
}
