// `npm run cdk -- synth` / `npm run cdk -- deploy` (cdk.json runs this file through the SWC loader). Without AWS
// credentials CDK_DEFAULT_ACCOUNT/REGION are unset and the stack is environment-agnostic: `synth` works offline.
import { App } from "aws-cdk-lib";
import { MetamerHubStack } from "./stack.js";

const app = new App();
new MetamerHubStack(app, "MetamerHub", {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
app.synth();
