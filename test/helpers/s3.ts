// A real S3-compatible server on loopback for the tests (s3rver: the S3 REST API over files in a temporary folder).
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import S3rver from "s3rver";
import type { S3Settings } from "../../src/config.js";

export interface TestS3 {
  /** Settings for METAMERS_BLOB_STORE=s3 against this server (a fresh bucket); `partBytes` small so tests go multipart. */
  settings: S3Settings & { credentials: { accessKeyId: string; secretAccessKey: string } };
  endpoint: string;
  /** Every key in the bucket under `prefix`, sorted. */
  keys(prefix?: string): Promise<string[]>;
  close(): Promise<void>;
}

// s3rver's fixed credentials.
const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

export async function startTestS3(options: { partBytes?: number; bucket?: string } = {}): Promise<TestS3> {
  const directory = await mkdtemp(path.join(os.tmpdir(), "metamers-s3-"));
  const server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const bucket = options.bucket ?? "metamers-test";
  const client = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    endpoint,
    settings: {
      bucket,
      region: "us-east-1",
      endpoint,
      forcePathStyle: true,
      partBytes: options.partBytes ?? 64 * 1024,
      presignSeconds: 60,
      credentials,
    },
    async keys(prefix = "") {
      const out: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        out.push(...(page.Contents ?? []).map((o) => o.Key!));
        token = page.NextContinuationToken;
      } while (token);
      return out.sort();
    },
    async close() {
      client.destroy();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
