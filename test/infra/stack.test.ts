import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { afterAll, describe, expect, it } from "vitest";
import { GPU_INSTANCE_TYPES, MetamerHubStack } from "../../infra/stack.js";

const outdir = mkdtempSync(path.join(os.tmpdir(), "cdk-"));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe("CDK stack", () => {
  const app = new App({ outdir });
  const stack = new MetamerHubStack(app, "MetamerHub", { env: { account: "123456789012", region: "eu-west-1" } });
  const template = Template.fromStack(stack);

  it("has Aurora PostgreSQL, a private S3 bucket and three container-image functions", () => {
    template.resourceCountIs("AWS::RDS::DBCluster", 1);
    template.hasResourceProperties("AWS::RDS::DBCluster", { Engine: "aurora-postgresql", ServerlessV2ScalingConfiguration: Match.objectLike({ MinCapacity: 0.5 }) });
    template.resourceCountIs("AWS::S3::Bucket", 1);
    template.hasResourceProperties("AWS::S3::Bucket", { PublicAccessBlockConfiguration: Match.objectLike({ BlockPublicAcls: true }) });
    const images = template.findResources("AWS::Lambda::Function", { Properties: { PackageType: "Image" } });
    // the API, the synthesis worker and the deploy-time migration function
    expect(Object.keys(images)).toHaveLength(3);
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

  it("puts no secret in any environment variable: functions and GPU jobs get the secrets' ARNs", () => {
    const secretArns = Object.keys(template.findResources("AWS::SecretsManager::Secret"));
    expect(secretArns.length).toBe(2); // the database's (RDS-generated) and the instance-admin key's
    const environments = [
      ...Object.values(template.findResources("AWS::Lambda::Function")).map((r) => r.Properties.Environment?.Variables ?? {}),
      ...Object.values(template.findResources("AWS::Batch::JobDefinition")).map((r) =>
        Object.fromEntries((r.Properties.ContainerProperties.Environment ?? []).map((e: { Name: string; Value: unknown }) => [e.Name, e.Value])),
      ),
    ];
    expect(environments.length).toBeGreaterThanOrEqual(4);
    for (const variables of environments) {
      expect(Object.keys(variables)).not.toContain("DATABASE_URL");
      for (const [name, value] of Object.entries(variables)) {
        const text = JSON.stringify(value);
        // A secret's value reaches a template only through a dynamic reference ({{resolve:secretsmanager:...}}).
        expect(text, name).not.toMatch(/resolve:secretsmanager/);
        expect(name).not.toMatch(/PASSWORD|API_KEY$/);
        // Secrets are referenced by ARN (Ref of the secret resource, or the attachment's Ref), nothing else.
        if (/SECRET/.test(name)) expect(text, name).toMatch(/"Ref":"(Database\w*Secret\w*|AdminKey\w*)"/);
      }
    }
    const withDbSecret = environments.filter((v) => v.METAMERS_DATABASE_SECRET);
    expect(withDbSecret.length).toBeGreaterThanOrEqual(4); // API, synthesis, migration, GPU job
  });

  it("applies migrations at deploy time with a Trigger that runs the migration function after the database exists", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      ImageConfig: { Command: ["functions/migrate/handler.handler"] },
      Environment: { Variables: { METAMERS_DATABASE_SECRET: Match.anyValue(), METAMERS_ADMIN_KEY_SECRET: { Ref: Match.stringLikeRegexp("^AdminKey") }, LOG_LEVEL: "info" } },
    });
    const triggers = template.findResources("Custom::Trigger");
    expect(Object.keys(triggers)).toHaveLength(1);
    const [trigger] = Object.values(triggers);
    expect(trigger.DependsOn.some((d: string) => d.startsWith("Database"))).toBe(true);
    expect(JSON.stringify(trigger.Properties.HandlerArn)).toMatch(/Migrate/);
    // Only the migration function may write the admin key's secret.
    const writers = Object.values(template.findResources("AWS::IAM::Policy")).filter((p) =>
      JSON.stringify(p.Properties.PolicyDocument).includes("secretsmanager:PutSecretValue"),
    );
    expect(writers.map((p) => JSON.stringify(p.Properties.Roles))).toEqual([expect.stringMatching(/MigrateServiceRole/)]);
  });

  it("runs GPU workers on AWS Batch: g5/g6 instances scaling from 0 vCPUs, a queue, and a one-GPU job definition", () => {
    template.hasResourceProperties("AWS::Batch::ComputeEnvironment", {
      Type: "managed",
      ComputeResources: Match.objectLike({
        MinvCpus: 0,
        InstanceTypes: GPU_INSTANCE_TYPES,
        Ec2Configuration: [{ ImageType: "ECS_AL2_NVIDIA" }],
      }),
    });
    const [env] = Object.values(template.findResources("AWS::Batch::ComputeEnvironment"));
    for (const type of env.Properties.ComputeResources.InstanceTypes) expect(type).toMatch(/^g[56]\./);
    template.resourceCountIs("AWS::Batch::JobQueue", 1);
    template.hasResourceProperties("AWS::Batch::JobDefinition", {
      Type: "container",
      ContainerProperties: Match.objectLike({
        ResourceRequirements: Match.arrayWith([{ Type: "GPU", Value: "1" }]),
        Environment: Match.arrayWith([{ Name: "METAMERS_EXECUTION_PROVIDERS", Value: "cuda,cpu" }]),
      }),
    });
    // The API and the synthesis function may submit to that queue and definition, and nothing else.
    const submitters = Object.values(template.findResources("AWS::IAM::Policy")).flatMap((p) =>
      p.Properties.PolicyDocument.Statement.filter((st: { Action: unknown }) => JSON.stringify(st.Action).includes("batch:SubmitJob")),
    );
    expect(submitters).toHaveLength(2);
    for (const st of submitters) expect(JSON.stringify(st.Resource)).toMatch(/GpuQueue.*GpuJob|GpuJob.*GpuQueue/);
  });

  it("limits every S3 permission (what presigned URLs are signed with) to the blob bucket", () => {
    const bucketId = Object.keys(template.findResources("AWS::S3::Bucket"))[0];
    const s3Statements = Object.values(template.findResources("AWS::IAM::Policy")).flatMap((p) =>
      p.Properties.PolicyDocument.Statement.filter((st: { Action: unknown }) => /"s3:/.test(JSON.stringify(st.Action))),
    );
    expect(s3Statements.length).toBeGreaterThanOrEqual(3); // API, synthesis, GPU job role
    for (const st of s3Statements) {
      expect(st.Effect).toBe("Allow");
      const resources = Array.isArray(st.Resource) ? st.Resource : [st.Resource];
      for (const r of resources) {
        const text = JSON.stringify(r);
        expect(text).not.toContain('"*"');
        expect(text).toContain(bucketId);
      }
    }
  });

  it("expires what interrupted writes leave in the bucket: unfinished multipart uploads, uploads/ and pending/", () => {
    template.hasResourceProperties("AWS::S3::Bucket", {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: "Enabled" }),
          Match.objectLike({ Prefix: "uploads/", ExpirationInDays: 2 }),
          Match.objectLike({ Prefix: "pending/", ExpirationInDays: 1 }),
        ]),
      },
    });
  });

  it("routes GraphQL, blobs, uploads and exports through the HTTP API to the API function", () => {
    const routes = Object.values(template.findResources("AWS::ApiGatewayV2::Route")).map((r) => r.Properties.RouteKey).sort();
    expect(routes).toEqual(
      ["GET /blobs/{proxy+}", "GET /export", "GET /export/{proxy+}", "GET /graphql", "HEAD /blobs/{proxy+}", "POST /graphql", "POST /uploads/{proxy+}", "PUT /uploads/{proxy+}"].sort(),
    );
  });
});
