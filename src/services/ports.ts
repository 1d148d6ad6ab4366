// Interfaces the services depend on and the store/dispatch layers implement.

/** Content-addressed bytes. The Postgres implementation keeps the bytes in the Blob table; an S3 one will follow. */
export interface BlobStore {
  /** Largest single blob this store can hold. */
  readonly maxBlobBytes: number;
  /** Stores the bytes under their sha256 (a no-op when already present); returns the address. */
  put(bytes: Uint8Array, contentType: string): Promise<StoredBlob>;
  /** The bytes, or null when no blob has that address. */
  get(sha256: string): Promise<Uint8Array | null>;
  has(sha256: string): Promise<boolean>;
  /** Metadata only (no bytes), or null. */
  head(sha256: string): Promise<StoredBlob | null>;
}

export interface StoredBlob {
  sha256: string;
  byteSize: number;
  contentType: string;
}
