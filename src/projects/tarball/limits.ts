/** Hard limits applied while a project tarball is listed or extracted. */

/** Limits for {@link listTarball} and {@link extractTarball}; every field is a hard stop. */
export interface TarballLimits {
  /** Entries of any kind (files, directories, links). Default 50,000. */
  readonly maxEntries: number;
  /** Sum of all file sizes once unpacked, in bytes. Default 1 GiB. */
  readonly maxTotalBytes: number;
  /** Size of any single file, in bytes. Default 512 MiB. */
  readonly maxFileBytes: number;
  /** Length of an entry path, in bytes. Default 4096 (Linux PATH_MAX). */
  readonly maxPathBytes: number;
  /**
   * Decompressed ÷ compressed bytes allowed once more than
   * {@link RATIO_CHECK_AFTER_BYTES} are decompressed. Default 200: source code
   * compresses ~5–10×, deflate's ceiling is ~1030× (runs of zeros), so this
   * stops a bomb of many plausible-looking entries after a few MiB instead of
   * at `maxTotalBytes`. Optional for callers that build limits by hand.
   */
  readonly maxCompressionRatio?: number;
}

/** The defaults documented in docs/projects.md. */
export const DEFAULT_TARBALL_LIMITS: TarballLimits = {
  maxEntries: 50_000,
  maxTotalBytes: 1024 * 1024 * 1024,
  maxFileBytes: 512 * 1024 * 1024,
  maxPathBytes: 4096,
  maxCompressionRatio: 200,
};

/** The compression ratio is only judged past this much output (tiny archives of empty files compress absurdly well). */
export const RATIO_CHECK_AFTER_BYTES = 32 * 1024 * 1024;

/**
 * Decompressed bytes allowed per entry on top of its declared body: its own
 * 512-byte header plus room for pax/long-name headers. Lets the reader stop a
 * stream whose decompressed size runs ahead of what its entries account for
 * (a gzip bomb of zeros or trailing junk) after a few MiB instead of at 1 GiB.
 */
export const DECOMPRESSED_OVERHEAD_PER_ENTRY = 16 * 1024;

/** Decompressed slack for the end-of-archive blocks and record padding. */
export const DECOMPRESSED_SLACK_BYTES = 2 * 1024 * 1024;
