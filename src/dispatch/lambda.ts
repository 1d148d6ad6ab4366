import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import type { Dispatcher } from "../services/ports.js";

/** What the dispatcher sends and the synthesis function receives. */
export interface SynthesisInvocation {
  jobId: string;
}

export interface LambdaDispatcherOptions {
  functionName: string;
  /** Any Lambda-compatible endpoint (LocalStack, a self-hosted runtime); unset = AWS's regional endpoint. */
  endpoint?: string;
  region: string;
  /** Tests pass a client whose transport is mocked. */
  client?: LambdaClient;
}

/**
 * Dispatches each job as one asynchronous invocation (`InvocationType: 'Event'`) of the synthesis function; the
 * payload is only the job id, since the row in PostgreSQL holds everything else.
 */
export class LambdaDispatcher implements Dispatcher {
  readonly kind = "lambda" as const;
  private readonly client: LambdaClient;

  constructor(private readonly options: LambdaDispatcherOptions) {
    this.client = options.client ?? new LambdaClient({ region: options.region, endpoint: options.endpoint });
  }

  async dispatch(jobIds: string[]): Promise<void> {
    // A few at a time: Event invocations return as soon as Lambda has queued them.
    for (let i = 0; i < jobIds.length; i += 16) {
      await Promise.all(
        jobIds.slice(i, i + 16).map((jobId) =>
          this.client.send(
            new InvokeCommand({
              FunctionName: this.options.functionName,
              InvocationType: "Event",
              Payload: new TextEncoder().encode(JSON.stringify({ jobId } satisfies SynthesisInvocation)),
            }),
          ),
        ),
      );
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
