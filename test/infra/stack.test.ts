import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { afterAll, describe, expect, it } from "vitest";
import { MetamerHubStack } from "../../infra/stack.js";

const outdir = mkdtempSync(path.join(os.tmpdir(), "cdk-"));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe("CDK stack", () => {
  const app = new App({ outdir });
  const stack = new MetamerHubStack(app, "MetamerHub", { env: { account: "123456789012", region: "eu-west-1" } });
  const template = Template.fromStack(stack);

  it("has Aurora PostgreSQL, a private S3 bucket and two container-image functions", () => {
    template.resourceCountIs("AWS::RDS::DBCluster", 1);
    template.hasResourceProperties("AWS::RDS::DBCluster", { Engine: "aurora-postgresql", ServerlessV2ScalingConfiguration: Match.objectLike({ MinCapacity: 0.5 }) });
    template.resourceCountIs("AWS::S3::Bucket", 1);
    template.hasResourceProperties("AWS::S3::Bucket", { PublicAccessBlockConfiguration: Match.objectLike({ BlockPublicAcls: true }) });
    const images = template.findResources("AWS::Lambda::Function", { Properties: { PackageType: "Image" } });
    expect(Object.keys(images)).toHaveLength(2);
  });

  it("runs the synthesis handler for 15 minutes under a fixed name it can re-invoke", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      FunctionName: "MetamerHub-synthesize",
      Timeout: 900,
      ImageConfig: { Command: ["functions/synthesize/handler.handler"] },
      Environment: { Variables: Match.objectLike({ METAMERS_DISPATCHER: "lambda", METAMERS_LAMBDA_FUNCTION: "MetamerHub-synthesize" }) },
    });
    template.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: "lambda:InvokeFunction", Resource: Match.anyValue() })]) },
    });
    template.hasResourceProperties("AWS::Lambda::Function", { ImageConfig: { Command: ["functions/graphql.handler"] } });
  });
});
