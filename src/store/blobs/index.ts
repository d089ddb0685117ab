/** Content-addressed blob storage (project tarballs). */
export { BlobNotFoundError, BlobTooLargeError, isBlobName, type BlobInfo, type BlobPutOptions, type BlobStore } from './blob-store.js';
export { FsBlobStore } from './fs-blob-store.js';
export { resolveBlobDir } from './blob-dir.js';
