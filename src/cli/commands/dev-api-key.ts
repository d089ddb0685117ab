/**
 * `computalot dev`'s local credential: on first start it creates the account
 * `local` with a member API key and keeps the key in `<data-dir>/dev-api-key`
 * (mode 0600), so a fresh clone can call the API at once and a restart prints
 * the same key. The file holds the only copy of the secret; the store has its
 * hash.
 */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CredentialService } from '../../accounts/index.js';
import type { Logger } from '../../shared/logger.js';
import type { CliOutput } from '../main.js';

/** File name of the dev key inside the data dir. */
export const DEV_API_KEY_FILE = 'dev-api-key';
/** Name of the account `computalot dev` creates. */
export const DEV_ACCOUNT_NAME = 'local';

/** The dev key and whether it was issued by this call. */
export interface DevApiKey {
  readonly token: string;
  readonly path: string;
  readonly issued: boolean;
}

/**
 * Reuses the key in `<dataDir>/dev-api-key` when it still resolves; otherwise
 * (first start, file deleted or edited, key revoked) issues a new one and
 * rewrites the file. Prints `API key: flk_…` either way.
 */
export async function ensureDevApiKey(credentials: CredentialService, dataDir: string, output: CliOutput, logger: Logger): Promise<DevApiKey> {
  const path = join(dataDir, DEV_API_KEY_FILE);
  const saved = await readSavedKey(path);
  if (saved !== undefined) {
    const resolution = await credentials.resolveToken(saved);
    if (resolution.ok) {
      output.stdout(`API key: ${saved} (from ${path})\n`);
      return { token: saved, path, issued: false };
    }
    logger.warn({ path, reason: resolution.reason }, 'the saved dev API key no longer works; issuing a new one');
  }

  const { account } = await credentials.createAccount(DEV_ACCOUNT_NAME);
  const { token, key } = await credentials.issueApiKey(account.id, 'member', 'computalot dev');
  await writeFile(path, `${token}\n`, { mode: 0o600 });
  // `mode` applies only when the file is created; an existing file keeps its old mode otherwise.
  await chmod(path, 0o600);
  logger.info({ accountId: account.id, keyId: key.key_id, path }, 'dev API key issued');
  output.stdout(`API key: ${token} (account ${DEV_ACCOUNT_NAME}, saved to ${path})\n`);
  return { token, path, issued: true };
}

async function readSavedKey(path: string): Promise<string | undefined> {
  try {
    const text = (await readFile(path, 'utf8')).trim();
    return text === '' ? undefined : text;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
