/** Errors the accounts area raises; codes are stable, the gateway maps them to HTTP. */
import { NotFoundError, ValidationError } from '../shared/errors.js';

/** No account has this name or id. */
export class AccountNotFoundError extends NotFoundError {
  constructor(readonly account: string) {
    super(`no account named or with id '${account}'`, { details: { account } });
  }
}

/** No API key has this id. */
export class ApiKeyNotFoundError extends NotFoundError {
  constructor(readonly keyId: string) {
    super(`no API key with id '${keyId}'`, { details: { key_id: keyId } });
  }
}

/** Account names end up in KV keys and CLI output: keep them plain. */
export class InvalidAccountNameError extends ValidationError {
  constructor(name: string) {
    super(`invalid account name '${name}': use 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit`, { details: { name } });
  }
}
