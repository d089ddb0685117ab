import { assertEvent, enqueueActions, setup } from 'xstate';
import { assign } from '../runtime/fast-assign.js';
import type { JsonObject } from '../../shared/json.js';
import { effectActions } from '../runtime/effects.js';
import { jobRef } from '../shared/ids.js';
import type { AccountEvent, AccountInput } from './account.events.js';
import {
  availableMicros,
  findHold,
  findQuote,
  hasReference,
  initialAccountContext,
  isPositiveMicros,
  post,
  updateHold,
  updateQuote,
  type AccountContext,
} from './account.logic.js';

/**
 * # Account: balance, holds, settlements, quotes
 *
 * One state, `open`: an account's life is its ledger, not a lifecycle. All
 * amounts are integer micro-dollars.
 *
 * - `account.credit` posts a credit unless its `reference` is already in the
 *   ledger (x402 nonce, grant id): replays credit once.
 * - `account.place_hold` reserves `amountMicros` for a job when `available`
 *   (balance − active holds) covers it, and answers the job
 *   `job.hold_placed`; otherwise records a `rejected` hold and answers
 *   `job.hold_rejected {reason, availableMicros, requiredMicros}`. A hold id is
 *   decided once: a redelivered request gets the same answer again, never a
 *   second reservation. With `expiresAt`, a `hold:<id>` timer releases it.
 * - `account.settle_hold` debits min(actual, hold) — an admitted job is never
 *   charged beyond its reservation — and releases the rest; a zero charge
 *   posts no ledger entry. `account.release_hold` / `account.hold_expired`
 *   release without charge. Each acts only on an active hold (idempotent).
 * - Quotes (x402 funding): `account.open_quote` records an open quote with a
 *   `quote:<id>` expiry timer; `account.quote_paid` credits its amount once per
 *   payment reference — even after the quote expired, because the payment
 *   settled and the money is real; `account.quote_expired` closes an open quote.
 *
 * The balance never goes negative: debits are bounded by holds, and holds by
 * the available balance when placed.
 */
export const accountMachine = setup({
  types: {
    context: {} as AccountContext,
    events: {} as AccountEvent,
    input: {} as AccountInput,
  },
  actions: {
    ...effectActions,

    // ── context updates ───────────────────────────────────────────────────
    recordCredit: assign(({ context, event }) => {
      assertEvent(event, 'account.credit');
      return post(context, {
        kind: 'credit',
        amountMicros: event.amountMicros,
        reason: event.reason,
        reference: event.reference,
        jobId: null,
        holdId: null,
        quoteId: null,
        at: event.at,
      });
    }),
    recordHold: assign(({ context, event }) => {
      assertEvent(event, 'account.place_hold');
      return {
        holds: [
          ...context.holds,
          {
            id: event.holdId,
            jobId: event.jobId,
            amountMicros: event.amountMicros,
            status: 'active' as const,
            settledMicros: null,
            closeReason: null,
            createdAt: event.at,
            expiresAt: event.expiresAt ?? null,
            closedAt: null,
          },
        ],
      };
    }),
    recordRejectedHold: assign(({ context, event }) => {
      assertEvent(event, 'account.place_hold');
      return {
        holds: [
          ...context.holds,
          {
            id: event.holdId,
            jobId: event.jobId,
            amountMicros: Number.isSafeInteger(event.amountMicros) ? event.amountMicros : 0,
            status: 'rejected' as const,
            settledMicros: null,
            closeReason: isValidHoldAmount(event.amountMicros) ? ('insufficient_funds' as const) : ('invalid_amount' as const),
            createdAt: event.at,
            expiresAt: null,
            closedAt: event.at,
          },
        ],
      };
    }),
    recordSettlement: assign(({ context, event }) => {
      assertEvent(event, 'account.settle_hold');
      const hold = findHold(context, event.holdId);
      if (!hold) return {};
      const charged = Math.min(hold.amountMicros, Math.max(0, Math.floor(event.actualMicros)));
      const holds = updateHold(context, hold.id, { status: 'settled', settledMicros: charged, closedAt: event.at });
      if (charged === 0) return { holds };
      const posted = post(context, {
        kind: 'debit',
        amountMicros: charged,
        reason: 'job_settlement',
        reference: null,
        jobId: hold.jobId,
        holdId: hold.id,
        quoteId: null,
        at: event.at,
      });
      return { ...posted, holds };
    }),
    recordHoldReleased: assign(({ context, event }) => {
      assertEvent(event, ['account.release_hold', 'account.hold_expired']);
      const closeReason = event.type === 'account.hold_expired' ? ('expired' as const) : ('released' as const);
      return { holds: updateHold(context, event.holdId, { status: 'released', closeReason, closedAt: event.at }) };
    }),
    recordQuote: assign(({ context, event }) => {
      assertEvent(event, 'account.open_quote');
      return {
        quotes: [
          ...context.quotes,
          {
            id: event.quoteId,
            kind: event.kind,
            amountMicros: event.amountMicros,
            status: 'open' as const,
            createdAt: event.at,
            expiresAt: event.expiresAt,
            paidAt: null,
            reference: null,
          },
        ],
      };
    }),
    recordQuotePaid: assign(({ context, event }) => {
      assertEvent(event, 'account.quote_paid');
      const quote = findQuote(context, event.quoteId);
      if (!quote) return {};
      const posted = post(context, {
        kind: 'credit',
        amountMicros: quote.amountMicros,
        reason: 'topup',
        reference: event.reference,
        jobId: null,
        holdId: null,
        quoteId: quote.id,
        at: event.at,
      });
      return { ...posted, quotes: updateQuote(context, quote.id, { status: 'paid', paidAt: event.at, reference: event.reference }) };
    }),
    recordQuoteExpired: assign(({ context, event }) => {
      assertEvent(event, 'account.quote_expired');
      return { quotes: updateQuote(context, event.quoteId, { status: 'expired' }) };
    }),

    // ── declared effects ──────────────────────────────────────────────────
    answerHoldPlaced: enqueueActions(({ event, enqueue }) => {
      assertEvent(event, 'account.place_hold');
      enqueue({ type: 'send', params: { to: jobRef(event.jobId), event: { type: 'job.hold_placed', holdId: event.holdId } } });
    }),
    answerHoldRejected: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'account.place_hold');
      enqueue({
        type: 'send',
        params: {
          to: jobRef(event.jobId),
          event: {
            type: 'job.hold_rejected',
            holdId: event.holdId,
            reason: isValidHoldAmount(event.amountMicros) ? 'insufficient_funds' : 'invalid_amount',
            availableMicros: availableMicros(context),
            requiredMicros: Number.isSafeInteger(event.amountMicros) ? event.amountMicros : 0,
          },
        },
      });
    }),
    /** A hold id already decided: repeat the decision (the request was redelivered). */
    answerKnownHold: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'account.place_hold');
      const hold = findHold(context, event.holdId);
      if (!hold) return;
      const answer: JsonObject & { type: string } =
        hold.status === 'rejected'
          ? { type: 'job.hold_rejected', holdId: hold.id, reason: hold.closeReason ?? 'insufficient_funds', availableMicros: availableMicros(context), requiredMicros: hold.amountMicros }
          : { type: 'job.hold_placed', holdId: hold.id };
      enqueue({ type: 'send', params: { to: jobRef(hold.jobId), event: answer } });
    }),
    armHoldExpiry: enqueueActions(({ event, enqueue }) => {
      assertEvent(event, 'account.place_hold');
      if (event.expiresAt === undefined || event.expiresAt === null) return;
      enqueue({
        type: 'scheduleTimer',
        params: { timerId: `hold:${event.holdId}`, dueAt: event.expiresAt, event: { type: 'account.hold_expired', holdId: event.holdId } },
      });
    }),
    disarmHoldExpiry: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, ['account.settle_hold', 'account.release_hold']);
      if ((findHold(context, event.holdId)?.expiresAt ?? null) === null) return;
      enqueue({ type: 'cancelTimer', params: { timerId: `hold:${event.holdId}` } });
    }),
    armQuoteExpiry: enqueueActions(({ event, enqueue }) => {
      assertEvent(event, 'account.open_quote');
      enqueue({
        type: 'scheduleTimer',
        params: { timerId: `quote:${event.quoteId}`, dueAt: event.expiresAt, event: { type: 'account.quote_expired', quoteId: event.quoteId } },
      });
    }),
    disarmQuoteExpiry: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'account.quote_paid');
      if (findQuote(context, event.quoteId)?.status !== 'open') return;
      enqueue({ type: 'cancelTimer', params: { timerId: `quote:${event.quoteId}` } });
    }),
  },
  guards: {
    isNewCredit: ({ context, event }) =>
      event.type === 'account.credit' && isPositiveMicros(event.amountMicros) && typeof event.reference === 'string' && !hasReference(context, event.reference),
    isKnownHold: ({ context, event }) => event.type === 'account.place_hold' && findHold(context, event.holdId) !== undefined,
    canCoverHold: ({ context, event }) =>
      event.type === 'account.place_hold' && isValidHoldAmount(event.amountMicros) && event.amountMicros <= availableMicros(context),
    isActiveHold: ({ context, event }) => 'holdId' in event && findHold(context, event.holdId)?.status === 'active',
    isNewQuote: ({ context, event }) =>
      event.type === 'account.open_quote' && isPositiveMicros(event.amountMicros) && findQuote(context, event.quoteId) === undefined,
    // An expired quote still credits: the payment settled, the money is real.
    isUnpaidQuote: ({ context, event }) => {
      if (event.type !== 'account.quote_paid') return false;
      const quote = findQuote(context, event.quoteId);
      return quote !== undefined && quote.status !== 'paid' && !hasReference(context, event.reference);
    },
    isOpenQuote: ({ context, event }) => 'quoteId' in event && findQuote(context, event.quoteId)?.status === 'open',
  },
}).createMachine({
  id: 'account',
  context: ({ input }) => initialAccountContext(input),
  initial: 'open',
  states: {
    open: {
      on: {
        'account.credit': { guard: 'isNewCredit', actions: 'recordCredit' },
        'account.place_hold': [
          { guard: 'isKnownHold', actions: 'answerKnownHold' },
          { guard: 'canCoverHold', actions: ['recordHold', 'answerHoldPlaced', 'armHoldExpiry'] },
          { actions: ['answerHoldRejected', 'recordRejectedHold'] },
        ],
        'account.settle_hold': { guard: 'isActiveHold', actions: ['disarmHoldExpiry', 'recordSettlement'] },
        'account.release_hold': { guard: 'isActiveHold', actions: ['disarmHoldExpiry', 'recordHoldReleased'] },
        'account.hold_expired': { guard: 'isActiveHold', actions: 'recordHoldReleased' },
        'account.open_quote': { guard: 'isNewQuote', actions: ['recordQuote', 'armQuoteExpiry'] },
        'account.quote_paid': { guard: 'isUnpaidQuote', actions: ['disarmQuoteExpiry', 'recordQuotePaid'] },
        'account.quote_expired': { guard: 'isOpenQuote', actions: 'recordQuoteExpired' },
      },
    },
  },
});

/** A hold may be zero (a free job still goes through admission) but never negative or fractional. */
function isValidHoldAmount(amount: unknown): amount is number {
  return typeof amount === 'number' && Number.isSafeInteger(amount) && amount >= 0;
}

export type AccountMachine = typeof accountMachine;
