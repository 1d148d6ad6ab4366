// `npx cdk deploy --app "npx tsx infra/app.ts"` (tsx is fine here: no decorators in the CDK app).
import { App } from "aws-cdk-lib";
import { MetamerHubStack } from "./stack.js";

const app = new App();
new MetamerHubStack(app, "MetamerHub", {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
app.synth();
