// The AWS deployment: Aurora PostgreSQL (Serverless v2), an S3 bucket for large blobs, the GraphQL Lambda and the
// synthesis Lambda. Both functions run the same container image (functions/synthesize/Dockerfile builds the whole
// service); the synthesis function re-invokes itself to continue long jobs, so its name is fixed and known to it.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ArnFormat, Duration, RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as rds from "aws-cdk-lib/aws-rds";
import * as s3 from "aws-cdk-lib/aws-s3";
import type { Construct } from "constructs";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export interface MetamerHubStackProps extends StackProps {
  /** Memory of the synthesis function in MB (more memory = more vCPUs on Lambda). */
  synthesisMemoryMb?: number;
}

export class MetamerHubStack extends Stack {
  readonly synthesisFunction: lambda.DockerImageFunction;
  readonly graphqlFunction: lambda.DockerImageFunction;

  constructor(scope: Construct, id: string, props: MetamerHubStackProps = {}) {
    super(scope, id, props);
    const vpc = new ec2.Vpc(this, "Vpc", { maxAzs: 2, natGateways: 1 });
    const database = new rds.DatabaseCluster(this, "Database", {
      engine: rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_4 }),
      writer: rds.ClusterInstance.serverlessV2("writer"),
      serverlessV2MinCapacity: 0.5,
      serverlessV2MaxCapacity: 8,
      defaultDatabaseName: "metamers",
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      removalPolicy: RemovalPolicy.SNAPSHOT,
    });
    const blobs = new s3.Bucket(this, "Blobs", {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // One image for both functions; only the handler (CMD) differs. Staged at synth, built at publish (G20).
    const image = (cmd: string) =>
      lambda.DockerImageCode.fromImageAsset(repoRoot, {
        file: "functions/synthesize/Dockerfile",
        cmd: [cmd],
        exclude: ["node_modules", ".git", ".data", ".cache", "cdk.out", "dist", "coverage"],
      });
    const secret = database.secret!;
    const databaseUrl = [
      "postgres://",
      secret.secretValueFromJson("username").unsafeUnwrap(),
      ":",
      secret.secretValueFromJson("password").unsafeUnwrap(),
      "@",
      database.clusterEndpoint.hostname,
      ":5432/metamers",
    ].join("");
    const synthesisName = `${this.stackName}-synthesize`;
    const common = {
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      environment: {
        DATABASE_URL: databaseUrl,
        METAMERS_BLOB_BUCKET: blobs.bucketName,
        METAMERS_DISPATCHER: "lambda",
        METAMERS_LAMBDA_FUNCTION: synthesisName,
        METAMERS_LAMBDA_REGION: this.region,
        LOG_LEVEL: "info",
      },
    };

    this.synthesisFunction = new lambda.DockerImageFunction(this, "Synthesize", {
      ...common,
      functionName: synthesisName,
      code: image("functions/synthesize/handler.handler"),
      memorySize: props.synthesisMemoryMb ?? 10_240,
      timeout: Duration.minutes(15),
      architecture: lambda.Architecture.X86_64,
      // Continuations are new invocations; Lambda's own retries would only duplicate them.
      retryAttempts: 0,
      description: "Metamer Hub synthesis worker: runs one job, checkpoints near the time limit and re-invokes itself",
    });
    // Self-invocation for continuations, by name (a reference to its own ARN would be circular).
    this.synthesisFunction.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["lambda:InvokeFunction"],
        resources: [this.formatArn({ service: "lambda", resource: "function", resourceName: synthesisName, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
      }),
    );

    this.graphqlFunction = new lambda.DockerImageFunction(this, "GraphQL", {
      ...common,
      code: image("functions/graphql.handler"),
      memorySize: 1024,
      timeout: Duration.seconds(30),
      description: "Metamer Hub GraphQL API",
    });
    this.synthesisFunction.grantInvoke(this.graphqlFunction);
    this.graphqlFunction.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });

    for (const fn of [this.synthesisFunction, this.graphqlFunction]) {
      database.connections.allowDefaultPortFrom(fn);
      blobs.grantReadWrite(fn);
    }
  }
}
