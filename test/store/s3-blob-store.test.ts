// What only the S3 blob store does, beyond the shared suite (blob-store.test.ts): presigned URLs and the check of a
// presigned upload. With AWS's own checksum (x-amz-checksum-sha256, which S3 verifies on PUT) the completion trusts it
// and reads no byte; that path is shown with the S3 API mocked at the SDK edge (aws-sdk-client-mock), since the
// S3-compatible test server reports no checksums. Everything else runs against that real server.
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  S3Client,
  type S3ClientResolvedConfig,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from "@aws-sdk/client-s3";
import { mockClient, type AwsStub } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countRows, createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { startTestS3, type TestS3 } from "../helpers/s3.js";
import { seededBytes, sha } from "../helpers/seeded-bytes.js";

const b64 = (hex: string) => Buffer.from(hex, "hex").toString("base64");

describe("S3 blob store on an S3-compatible server", () => {
  let s3: TestS3;
  let db: TestDatabase;
  beforeAll(async () => {
    s3 = await startTestS3();
    db = await createTestDatabase({ s3: s3.settings });
  });
  afterAll(async () => {
    await db?.drop();
    await s3?.close();
  });

  it("a presigned upload URL signs the size and the sha256 as headers, valid for the given time, for the upload's staging key", async () => {
    const direct = db.store.blobs.direct!;
    const digest = sha(Buffer.from("x"));
    const put = await direct.presignUpload("0b9f3c8e-5d2a-4c1e-9f00-123456789abc", { byteSize: 1234, sha256: digest }, 900);
    const url = new URL(put.url);
    expect(url.pathname).toBe(`/${s3.settings.bucket}/uploads/0b9f3c8e-5d2a-4c1e-9f00-123456789abc`);
    expect(url.searchParams.get("X-Amz-Expires")).toBe("900");
    expect(url.searchParams.get("X-Amz-SignedHeaders")!.split(";")).toEqual(expect.arrayContaining(["content-length", "host", "x-amz-checksum-sha256"]));
    // the checksum must travel as the signed header, not as a query parameter S3 would not enforce
    expect(url.searchParams.has("x-amz-checksum-sha256")).toBe(false);
    expect(put.headers).toEqual([
      { name: "Content-Length", value: "1234" },
      { name: "x-amz-checksum-sha256", value: b64(digest) },
    ]);
  });

  it("a presigned GET fetches the blob (and ranges of it) without any other credential, with the file name asked for", async () => {
    const bytes = seededBytes(5000, 61);
    await db.store.blobs.put(bytes, "application/x-test");
    const url = await db.store.blobs.direct!.presignGet(sha(bytes), 120, { filename: 'metamer "1".png' });
    expect(new URL(url).searchParams.get("X-Amz-Expires")).toBe("120");
    const whole = await fetch(url);
    expect(whole.status).toBe(200);
    expect(whole.headers.get("content-disposition")).toBe('attachment; filename="metamer _1_.png"');
    expect(Buffer.from(await whole.arrayBuffer()).equals(bytes)).toBe(true);
    const part = await fetch(url, { headers: { range: "bytes=100-199" } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(100, 200))).toBe(true);
  });

  it("a blob row of the other store is an error naming both, not a silent miss", async () => {
    const other = await createTestDatabase({ blobChunkBytes: 4096 });
    try {
      const bytes = seededBytes(10, 62);
      await other.store.blobs.put(bytes, "x"); // a Postgres-stored blob
      const s3Store = (await import("../../src/store/store.js")).Store.connect(other.config, { poolSize: 1, s3: s3.settings });
      try {
        await expect(s3Store.blobs.head(sha(bytes))).rejects.toThrow(`blob ${sha(bytes)} is kept in 'postgres', which this S3 blob store cannot read`);
      } finally {
        await s3Store.close();
      }
    } finally {
      await other.drop();
    }
  });
});

describe("S3 blob store with AWS's checksum (S3 API mocked at the SDK edge)", () => {
  // Created here, not at collection: it replaces send() of every S3Client, the other describe's included.
  let s3Mock: AwsStub<ServiceInputTypes, ServiceOutputTypes, S3ClientResolvedConfig>;
  let db: TestDatabase;
  const bucket = "metamers-aws";
  beforeAll(async () => {
    s3Mock = mockClient(S3Client);
    db = await createTestDatabase({
      s3: { bucket, region: "eu-west-1", credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" } },
    });
  });
  afterAll(async () => {
    await db?.drop();
    s3Mock?.restore();
  });

  it("completion trusts S3's verified sha256: no byte is read, the staged object is copied to its address and removed", async () => {
    s3Mock.reset();
    const bytes = seededBytes(7000, 63);
    const digest = sha(bytes);
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: bytes.length, ChecksumSHA256: b64(digest) });
    s3Mock.on(CopyObjectCommand).resolves({});
    s3Mock.on(DeleteObjectCommand).resolves({});
    const before = await countRows(db.store);
    const stored = await db.store.blobs.direct!.adoptUpload("u-1", "application/octet-stream", { byteSize: bytes.length, sha256: digest });
    expect(stored).toEqual({ sha256: digest, byteSize: bytes.length, contentType: "application/octet-stream" });
    expect(s3Mock.commandCalls(HeadObjectCommand)[0].args[0].input).toEqual({ Bucket: bucket, Key: "uploads/u-1", ChecksumMode: "ENABLED" });
    expect(s3Mock.commandCalls(GetObjectCommand)).toHaveLength(0);
    expect(s3Mock.commandCalls(CopyObjectCommand)[0].args[0].input).toMatchObject({ Bucket: bucket, Key: `blobs/${digest}`, CopySource: `${bucket}/uploads/u-1` });
    expect(s3Mock.commandCalls(DeleteObjectCommand)[0].args[0].input).toEqual({ Bucket: bucket, Key: "uploads/u-1" });
    expect((await countRows(db.store)).Blob).toBe(before.Blob + 1);
    expect(await db.store.blobs.head(digest)).toEqual(stored);
  });

  it("a size other than declared is refused from the object's metadata, and the object deleted", async () => {
    s3Mock.reset();
    const digest = sha(Buffer.from("y"));
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 11, ChecksumSHA256: b64(digest) });
    s3Mock.on(DeleteObjectCommand).resolves({});
    const err = await db.store.blobs.direct!.adoptUpload("u-2", "x", { byteSize: 10, sha256: digest }).catch((e) => e);
    expect(err).toMatchObject({ reason: "TOO_LARGE", expected: 10, actual: 11 });
    expect(s3Mock.commandCalls(DeleteObjectCommand)[0].args[0].input).toEqual({ Bucket: bucket, Key: "uploads/u-2" });
    expect(s3Mock.commandCalls(CopyObjectCommand)).toHaveLength(0);
  });

  it("nothing PUT yet (S3's bare 404 on HEAD) is null, not an error", async () => {
    s3Mock.reset();
    s3Mock.on(HeadObjectCommand).rejects(Object.assign(new Error("NotFound"), { name: "NotFound", $metadata: { httpStatusCode: 404 } }));
    expect(await db.store.blobs.direct!.adoptUpload("u-3", "x", { byteSize: 1, sha256: "0".repeat(64) })).toBeNull();
  });
});
