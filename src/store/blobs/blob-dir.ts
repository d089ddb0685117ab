/** Where blobs live, from the store configuration. */
import { join } from 'node:path';

/** `store.blob_dir` when set, else `<store.data_dir>/blobs`. */
export function resolveBlobDir(store: { readonly data_dir: string; readonly blob_dir?: string | undefined }): string {
  return store.blob_dir ?? join(store.data_dir, 'blobs');
}
