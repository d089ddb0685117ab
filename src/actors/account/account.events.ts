/**
 * Events an account accepts, and its creation input. Every event carries `at`
 * (epoch ms). Amounts are integer micro-dollars (1 USD = 1_000_000) so sums
 * never drift; read models convert to USD for the API.
 */

export type AccountInput = {
  accountId: string;
  /** Free-form owner description (wallet address, email) for operators. */
  label: string | null;
  openedAt: number;
};

export type AccountOpenEvent = { type: 'account.open'; at: number; label?: string | null };

export type CreditReason = 'topup' | 'grant' | 'refund' | 'adjustment';

/**
 * Adds funds. `reference` makes it idempotent (an x402 authorization nonce, an
 * admin grant id): a second credit with a reference already in the ledger is
 * ignored, so a replayed payment never credits twice.
 */
export type AccountCreditEvent = {
  type: 'account.credit';
  at: number;
  amountMicros: number;
  reason: CreditReason;
  reference: string;
};

/** Reserve funds for a job; the account answers the job with `job.hold_placed` / `job.hold_rejected`. */
export type AccountPlaceHoldEvent = {
  type: 'account.place_hold';
  at: number;
  holdId: string;
  jobId: string;
  amountMicros: number;
  /** When set, the hold is released at this time unless settled first. */
  expiresAt?: number | null;
};

/** Charge `actualMicros` (capped at the hold) and release the rest. */
export type AccountSettleHoldEvent = { type: 'account.settle_hold'; at: number; holdId: string; actualMicros: number };
export type AccountReleaseHoldEvent = { type: 'account.release_hold'; at: number; holdId: string };
/** The hold's expiry timer fired. */
export type AccountHoldExpiredEvent = { type: 'account.hold_expired'; at: number; holdId: string };

export type QuoteKind = 'topup' | 'shortfall';

/** An x402 funding quote was issued (402 response); it expires at `expiresAt`. */
export type AccountOpenQuoteEvent = {
  type: 'account.open_quote';
  at: number;
  quoteId: string;
  kind: QuoteKind;
  amountMicros: number;
  expiresAt: number;
};

/** The quote was paid (x402 settlement); credits its amount once, keyed by `reference` (payment nonce). */
export type AccountQuotePaidEvent = { type: 'account.quote_paid'; at: number; quoteId: string; reference: string };
/** The quote's expiry timer fired. */
export type AccountQuoteExpiredEvent = { type: 'account.quote_expired'; at: number; quoteId: string };

export type AccountEvent =
  | AccountCreditEvent
  | AccountPlaceHoldEvent
  | AccountSettleHoldEvent
  | AccountReleaseHoldEvent
  | AccountHoldExpiredEvent
  | AccountOpenQuoteEvent
  | AccountQuotePaidEvent
  | AccountQuoteExpiredEvent;
