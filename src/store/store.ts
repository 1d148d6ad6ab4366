import { ChunkTable } from "./blob-chunks.js";
import { checkChunkBytes, DEFAULT_CHUNK_BYTES, PostgresBlobStore, type BlobBackend } from "./blob-store.js";
import { S3Backend, S3BlobStore, type S3BlobConfig } from "./s3-blob-store.js";
import type { BlobStore } from "../services/ports.js";
import { createPrismaClient, type Db, type Tx } from "./db.js";
import { GroupStore } from "./groups.js";
import type { PgConfig } from "./pg-config.js";
import { ModelStore } from "./models.js";
import { StimulusStore } from "./stimuli.js";
import { UploadStore } from "./uploads.js";
import { JobStore } from "./jobs.js";
import { MetamerStore } from "./metamers.js";
import { ReferenceNullStore } from "./nulls.js";
import { StudyStore } from "./studies.js";
import { MetricsExportStore, MetricsStore } from "./metrics.js";
import { RecognitionStore } from "./recognition.js";
import { PanelStore } from "./panels.js";
import { LabelMapStore } from "./label-maps.js";
import { ListingStore } from "./listing.js";
import { StageLabelStore } from "./stage-labels.js";
import { ShareStore } from "./shares.js";
import { VisibilityStore } from "./visibility.js";
import { ExperimentStore } from "./experiments.js";
import { ArchiveStore } from "./archive.js";
import { RobustnessStore } from "./robustness.js";

/**
 * The persistence layer: one PrismaClient (pg adapter) and one domain-named sub-store per aggregate.
 * To add an area: write `src/store/<area>.ts` with a class taking `DbOrTx`, and add one property here and one line
 * in the constructor (the constructor also builds the transaction-bound copy, so it works inside `transaction`).
 */
export class Store {
  readonly groups: GroupStore;
  readonly blobs: BlobStore;
  readonly uploads: UploadStore;
  readonly models: ModelStore;
  readonly stimuli: StimulusStore;
  readonly jobs: JobStore;
  readonly metamers: MetamerStore;
  readonly nulls: ReferenceNullStore;
  readonly studies: StudyStore;
  readonly metrics: MetricsStore;
  readonly metricsExport: MetricsExportStore;
  readonly recognition: RecognitionStore;
  readonly panels: PanelStore;
  readonly labelMaps: LabelMapStore;
  readonly listing: ListingStore;
  readonly stageLabels: StageLabelStore;
  readonly shares: ShareStore;
  /** The one visibility rule (src/store/visibility.ts) as queries. */
  readonly visibility: VisibilityStore;
  readonly experiments: ExperimentStore;
  /** Archive, delete and the blob sweep (issue 13). */
  readonly archive: ArchiveStore;
  readonly robustness: RobustnessStore;

  protected constructor(
    /** The raw client, for store modules only (never import it elsewhere). */
    readonly db: Db | Tx,
    private readonly root: Db,
    /** Blob chunk connections and chunk size, shared by the root store and its transaction-bound copies. */
    private readonly blobBackend: BlobBackend,
    /** The bucket client when blob bytes live in S3 (the Blob rows stay here either way). */
    private readonly s3Backend?: S3Backend,
  ) {
    this.groups = new GroupStore(db);
    this.blobs = s3Backend ? new S3BlobStore(db, s3Backend) : new PostgresBlobStore(db, blobBackend, db !== root);
    this.uploads = new UploadStore(db);
    this.models = new ModelStore(db);
    this.stimuli = new StimulusStore(db);
    this.jobs = new JobStore(db);
    this.metamers = new MetamerStore(db);
    this.nulls = new ReferenceNullStore(db);
    this.studies = new StudyStore(db);
    this.metrics = new MetricsStore(db);
    this.metricsExport = new MetricsExportStore(db);
    this.recognition = new RecognitionStore(db);
    this.panels = new PanelStore(db);
    this.labelMaps = new LabelMapStore(db);
    this.listing = new ListingStore(db);
    this.stageLabels = new StageLabelStore(db);
    this.shares = new ShareStore(db);
    this.visibility = new VisibilityStore(db);
    this.experiments = new ExperimentStore(db);
    this.archive = new ArchiveStore(db);
    this.robustness = new RobustnessStore(db);
  }

  /** `blobChunkBytes`: chunk size of new blobs (default 8 MiB; stored blobs keep theirs). `s3`: blob bytes in a bucket. */
  static connect(config: PgConfig, options: { poolSize?: number; blobChunkBytes?: number; s3?: S3BlobConfig } = {}): Store {
    const db = createPrismaClient(config, options.poolSize);
    const chunkBytes = checkChunkBytes(options.blobChunkBytes ?? DEFAULT_CHUNK_BYTES);
    return new Store(db, db, { chunks: new ChunkTable(config), chunkBytes }, options.s3 ? new S3Backend(options.s3) : undefined);
  }

  /** Runs `fn` in one database transaction: every sub-store of the Store passed in writes through it. */
  transaction<T>(fn: (store: Store) => Promise<T>, options: { timeoutMs?: number } = {}): Promise<T> {
    return this.root.$transaction((tx) => fn(new Store(tx, this.root, this.blobBackend, this.s3Backend)), {
      timeout: options.timeoutMs ?? 60_000,
      maxWait: 10_000,
    });
  }

  /** True when the database answers. */
  async ping(): Promise<boolean> {
    try {
      await this.root.$queryRawUnsafe("SELECT 1");
      return true;
    } catch {
      return false;
    }
  }

  /** Row count of every table in the public schema except Prisma's migration bookkeeping. */
  async countRows(): Promise<Record<string, number>> {
    const tables = await this.root.$queryRawUnsafe<{ name: string }[]>(
      `SELECT table_name AS name FROM information_schema.tables
        WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> '_prisma_migrations'
        ORDER BY table_name`,
    );
    const counts: Record<string, number> = {};
    for (const { name } of tables) {
      const [row] = await this.root.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM "${name.replace(/"/g, '""')}"`);
      counts[name] = Number(row.n);
    }
    return counts;
  }

  async close(): Promise<void> {
    await this.blobBackend.chunks.close();
    this.s3Backend?.close();
    await this.root.$disconnect();
  }
}
