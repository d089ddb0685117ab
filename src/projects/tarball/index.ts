/** Safe handling of project tarballs: listing, extraction, content hashing, diffs. */
export { DEFAULT_TARBALL_LIMITS, type TarballLimits } from './limits.js';
export {
  listTarball,
  contentHashOf,
  type ListTarballOptions,
  type TarballListing,
  type TarballListingWithContent,
  type TarballFile,
  type TarballSymlink,
} from './listing.js';
export { extractTarball } from './extract.js';
export { diffFileLists, type TarballDiff, type FileDigest } from './diff.js';
