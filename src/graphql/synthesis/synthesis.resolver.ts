import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { GraphQLContext } from "../context.js";
import { Model, toModel } from "../model/model.types.js";
import { Stimulus } from "../stimulus/stimulus.types.js";
import type { SynthesisBatchView } from "../../services/synthesis.js";
import type { SynthesisConfigInput } from "../../services/synthesis.js";
import { synthesisConfigView } from "../../services/science-views.js";
import {
  BatchProgress,
  JobStatusEnum,
  Metamer,
  SynthesisBatch,
  SynthesisJob,
  SynthesizeMetamersInput,
  toMetamer,
  toSynthesisJob,
} from "./synthesis.types.js";

// jobs(...) is a field resolver with its own filters, so the batch object carries only the batch and its counts.
export async function toBatch(view: SynthesisBatchView, _ctx?: GraphQLContext): Promise<SynthesisBatch> {
  return Object.assign(new SynthesisBatch(), { ...view.batch, synthesisConfig: synthesisConfigView(view.batch.config), counts: view.counts });
}

@Resolver(() => SynthesisBatch)
export class SynthesisBatchResolver {
  @Mutation(() => SynthesisBatch, { description: "MEMBER: queue one synthesis job per (stimulus, stage)" })
  async synthesizeMetamers(@Arg("input", () => SynthesizeMetamersInput) input: SynthesizeMetamersInput, @Ctx() ctx: GraphQLContext) {
    // The GraphQL enums carry the same strings as the engine's literal types.
    const config = (input.config ?? null) as SynthesisConfigInput | null;
    return toBatch(await ctx.services.synthesis.synthesize(ctx.caller, { ...input, config }), ctx);
  }

  @Mutation(() => SynthesisBatch, { description: "MEMBER: cancel the batch's queued and running jobs" })
  async cancelSynthesis(@Arg("batchId", () => ID) batchId: string, @Ctx() ctx: GraphQLContext) {
    return toBatch(await ctx.services.synthesis.cancel(ctx.caller, batchId), ctx);
  }

  @Mutation(() => SynthesisBatch, { description: "MEMBER: re-queue the batch's FAILED and CANCELLED jobs (fresh attempts) and clear its cancellation" })
  async retrySynthesisBatch(@Arg("batchId", () => ID) batchId: string, @Ctx() ctx: GraphQLContext) {
    return toBatch(await ctx.services.synthesis.retry(ctx.caller, batchId), ctx);
  }

  @Query(() => SynthesisBatch, { nullable: true })
  async synthesisBatch(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    const view = await ctx.services.synthesis.batch(ctx.caller, id, { first: 0 });
    return view && toBatch(view, ctx);
  }

  @FieldResolver(() => BatchProgress, { description: "jobs and steps done, per stage, and an ETA from the batch's measured rate" })
  async progress(@Root() batch: SynthesisBatch, @Ctx() ctx: GraphQLContext) {
    return ctx.services.synthesis.progress(ctx.caller, batch.id);
  }

  @FieldResolver(() => [SynthesisJob], { description: "in creation order" })
  async jobs(
    @Root() batch: SynthesisBatch,
    @Ctx() ctx: GraphQLContext,
    @Arg("status", () => JobStatusEnum, { nullable: true }) status?: JobStatusEnum,
    @Arg("first", () => Int, { nullable: true, defaultValue: 1000 }) first?: number,
    @Arg("offset", () => Int, { nullable: true, defaultValue: 0 }) offset?: number,
  ) {
    const view = await ctx.services.synthesis.batch(ctx.caller, batch.id, { status, first: Math.min(first ?? 1000, 10_000), offset });
    if (!view) return [];
    const metamers = await ctx.services.synthesis.metamerIdsByJobs(view.jobs.map((j) => j.id));
    return view.jobs.map((j) => toSynthesisJob(j, metamers.get(j.id) ?? null));
  }
}

@Resolver(() => SynthesisJob)
export class SynthesisJobResolver {
  @Query(() => SynthesisJob, { nullable: true })
  async synthesisJob(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    const job = await ctx.services.synthesis.job(ctx.caller, id);
    return job && toSynthesisJob(job, job.metamerId);
  }

  @FieldResolver(() => Stimulus, { nullable: true })
  stimulus(@Root() job: SynthesisJob, @Ctx() ctx: GraphQLContext) {
    return ctx.services.stimuli.getStimulus(ctx.caller, job.stimulusId);
  }
}

@Resolver(() => Metamer)
export class MetamerResolver {
  @Query(() => Metamer, { nullable: true })
  async metamer(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    const m = await ctx.services.synthesis.metamer(ctx.caller, id);
    return m && toMetamer(m, (sha) => ctx.services.synthesis.blobUrl(sha));
  }

  @FieldResolver(() => Model, { nullable: true })
  async model(@Root() m: Metamer, @Ctx() ctx: GraphQLContext) {
    const model = await ctx.services.models.get(ctx.caller, m.modelId);
    return model && toModel(model);
  }

  @FieldResolver(() => Stimulus, { nullable: true })
  stimulus(@Root() m: Metamer, @Ctx() ctx: GraphQLContext) {
    return ctx.services.stimuli.getStimulus(ctx.caller, m.stimulusId);
  }
}
