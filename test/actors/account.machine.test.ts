import t from 'tap';
import { accountInputFromCreateEvent, accountKind, accountReadModel } from '../../src/actors/account/account.kind.js';
import { availableMicros, heldMicros, type AccountContext } from '../../src/actors/account/account.logic.js';
import { accountMachine } from '../../src/actors/account/account.machine.js';
import { MachineDriver, effectTypes, sendsOf } from '../helpers/machine-harness.js';

const ACCT = 'acct_1';
const JOB = 'job_20260312_143000_abc123';
const T0 = 1_700_000_000_000;
const USD = 1_000_000;

function account() {
  const input = accountInputFromCreateEvent(ACCT, { type: 'account.open', at: T0, label: '0xabc' });
  if (!input) throw new Error('fixture input rejected');
  return new MachineDriver<AccountContext>(accountMachine, input);
}

function funded(usd: number) {
  const d = account();
  d.send({ type: 'account.credit', at: T0 + 1, amountMicros: usd * USD, reason: 'grant', reference: 'grant_1' });
  return d;
}

function hold(d: MachineDriver<AccountContext>, holdId: string, amountMicros: number, extra: Record<string, unknown> = {}) {
  return d.send({ type: 'account.place_hold', at: T0 + 10, holdId, jobId: JOB, amountMicros, ...extra });
}

t.test('open', async (t) => {
  t.test('account.open creates an empty open account', async (t) => {
    const d = account();
    t.equal(d.value, 'open');
    t.same(d.effects, []);
    t.match(d.context, { accountId: ACCT, label: '0xabc', balanceMicros: 0, ledger: [], holds: [], quotes: [] });
  });

  t.test('only account.open creates', async (t) => {
    t.equal(accountKind.inputFromCreateEvent(ACCT, { type: 'account.credit', at: T0, amountMicros: 1, reason: 'grant', reference: 'r' }), undefined);
    t.equal(accountKind.routingKey(ACCT), ACCT);
  });
});

t.test('credits', async (t) => {
  t.test('a credit posts a ledger entry and moves the balance', async (t) => {
    const d = funded(10);
    t.equal(d.context.balanceMicros, 10 * USD);
    t.same(d.context.ledger, [
      { id: `${ACCT}.l1`, kind: 'credit', amountMicros: 10 * USD, balanceAfterMicros: 10 * USD, reason: 'grant', reference: 'grant_1', jobId: null, holdId: null, quoteId: null, at: T0 + 1 },
    ]);
    t.same(d.effects, []);
  });

  t.test('a second credit with the same reference is ignored', async (t) => {
    const d = funded(10);
    d.send({ type: 'account.credit', at: T0 + 2, amountMicros: 10 * USD, reason: 'grant', reference: 'grant_1' });
    t.equal(d.context.balanceMicros, 10 * USD);
    t.equal(d.context.ledger.length, 1);
  });

  t.test('zero, negative and fractional credits are ignored', async (t) => {
    const d = account();
    for (const amountMicros of [0, -5, 1.5]) d.send({ type: 'account.credit', at: T0 + 2, amountMicros, reason: 'grant', reference: `r${amountMicros}` });
    t.equal(d.context.balanceMicros, 0);
    t.same(d.context.ledger, []);
  });

  t.test('micro-dollar integers do not drift', async (t) => {
    const d = account();
    for (let i = 0; i < 10; i++) d.send({ type: 'account.credit', at: T0 + i, amountMicros: 100_000, reason: 'topup', reference: `n${i}` });
    t.equal(d.context.balanceMicros, USD, '10 × $0.10 is exactly $1');
    t.equal((accountReadModel(d.persisted() as never, ACCT) as Record<string, unknown>)['ledger_balance_usd'], 1);
  });
});

t.test('holds', async (t) => {
  t.test('a covered hold is placed and the job told', async (t) => {
    const d = funded(10);
    hold(d, 'hold_1', 4 * USD);
    t.same(effectTypes(d.effects), ['send:job.hold_placed']);
    t.same(sendsOf(d.effects, 'job.hold_placed'), [{ to: { kind: 'job', id: JOB }, event: { type: 'job.hold_placed', holdId: 'hold_1' } }]);
    t.equal(heldMicros(d.context), 4 * USD);
    t.equal(availableMicros(d.context), 6 * USD);
    t.equal(d.context.balanceMicros, 10 * USD, 'a hold is not a debit');
    t.match(d.context.holds, [{ id: 'hold_1', jobId: JOB, status: 'active', amountMicros: 4 * USD, expiresAt: null }]);
  });

  t.test('exactly the available amount is enough; one micro more is not', async (t) => {
    const d = funded(10);
    hold(d, 'hold_1', 10 * USD);
    t.equal(d.context.holds[0]?.status, 'active');
    hold(d, 'hold_2', 1);
    t.equal(d.context.holds[1]?.status, 'rejected');
    t.same(sendsOf(d.effects, 'job.hold_rejected')[0]?.event, {
      type: 'job.hold_rejected',
      holdId: 'hold_2',
      reason: 'insufficient_funds',
      availableMicros: 0,
      requiredMicros: 1,
    });
  });

  t.test('an uncovered hold is rejected and recorded; the job told', async (t) => {
    const d = funded(1);
    hold(d, 'hold_1', 5 * USD);
    t.same(effectTypes(d.effects), ['send:job.hold_rejected']);
    t.match(sendsOf(d.effects, 'job.hold_rejected')[0]?.event, { availableMicros: USD, requiredMicros: 5 * USD });
    t.match(d.context.holds, [{ id: 'hold_1', status: 'rejected', closeReason: 'insufficient_funds', closedAt: T0 + 10 }]);
    t.equal(heldMicros(d.context), 0);
  });

  t.test('an invalid amount is rejected as such', async (t) => {
    const d = funded(10);
    hold(d, 'hold_neg', -1);
    t.match(sendsOf(d.effects, 'job.hold_rejected')[0]?.event, { reason: 'invalid_amount' });
    t.equal(d.context.holds[0]?.closeReason, 'invalid_amount');
  });

  t.test('a zero hold is placed even on an empty account', async (t) => {
    const d = account();
    hold(d, 'hold_free', 0);
    t.same(effectTypes(d.effects), ['send:job.hold_placed']);
  });

  t.test('a redelivered request gets the same answer, never a second reservation', async (t) => {
    const d = funded(10);
    hold(d, 'hold_1', 4 * USD);
    d.send({ type: 'account.credit', at: T0 + 11, amountMicros: 100 * USD, reason: 'topup', reference: 'n1' });
    hold(d, 'hold_1', 4 * USD);
    t.same(effectTypes(d.effects), ['send:job.hold_placed']);
    t.equal(d.context.holds.length, 1);
    t.equal(heldMicros(d.context), 4 * USD);
    const poor = funded(1);
    hold(poor, 'hold_x', 5 * USD);
    poor.send({ type: 'account.credit', at: T0 + 11, amountMicros: 100 * USD, reason: 'topup', reference: 'n1' });
    hold(poor, 'hold_x', 5 * USD);
    t.match(sendsOf(poor.effects, 'job.hold_rejected'), [{ event: { holdId: 'hold_x', reason: 'insufficient_funds' } }], 'a decided rejection stays rejected');
  });

  t.test('with expiresAt a hold arms its expiry timer', async (t) => {
    const d = funded(10);
    hold(d, 'hold_1', USD, { expiresAt: T0 + 3_600_000 });
    t.same(d.effects[1], { type: 'scheduleTimer', params: { timerId: 'hold:hold_1', dueAt: T0 + 3_600_000, event: { type: 'account.hold_expired', holdId: 'hold_1' } } });
  });
});

t.test('settlement and release', async (t) => {
  t.test('settle debits the actual amount and releases the rest', async (t) => {
    const d = funded(10);
    hold(d, 'hold_1', 4 * USD);
    d.send({ type: 'account.settle_hold', at: T0 + 100, holdId: 'hold_1', actualMicros: 1_250_000 });
    t.same(d.effects, [], 'no expiry timer to disarm');
    t.equal(d.context.balanceMicros, 8_750_000);
    t.equal(heldMicros(d.context), 0);
    t.equal(availableMicros(d.context), 8_750_000);
    t.match(d.context.holds, [{ status: 'settled', settledMicros: 1_250_000, closedAt: T0 + 100 }]);
    t.match(d.context.ledger[1], { id: `${ACCT}.l2`, kind: 'debit', amountMicros: 1_250_000, balanceAfterMicros: 8_750_000, reason: 'job_settlement', jobId: JOB, holdId: 'hold_1' });
  });

  t.test('a charge above the hold is capped at the hold', async (t) => {
    const d = funded(10);
    hold(d, 'hold_1', 2 * USD);
    d.send({ type: 'account.settle_hold', at: T0 + 100, holdId: 'hold_1', actualMicros: 9 * USD });
    t.equal(d.context.balanceMicros, 8 * USD);
    t.ok(d.context.balanceMicros >= 0);
  });

  t.test('a zero charge settles without a ledger entry', async (t) => {
    const d = funded(10);
    hold(d, 'hold_1', 2 * USD);
    d.send({ type: 'account.settle_hold', at: T0 + 100, holdId: 'hold_1', actualMicros: 0 });
    t.equal(d.context.ledger.length, 1);
    t.equal(d.context.holds[0]?.status, 'settled');
  });

  t.test('settling twice, or an unknown hold, changes nothing', async (t) => {
    const d = funded(10);
    hold(d, 'hold_1', 2 * USD);
    d.send({ type: 'account.settle_hold', at: T0 + 100, holdId: 'hold_1', actualMicros: USD });
    const before = JSON.stringify(d.context);
    t.same(d.send({ type: 'account.settle_hold', at: T0 + 101, holdId: 'hold_1', actualMicros: USD }), []);
    t.same(d.send({ type: 'account.settle_hold', at: T0 + 101, holdId: 'nope', actualMicros: USD }), []);
    t.same(d.send({ type: 'account.release_hold', at: T0 + 101, holdId: 'hold_1' }), []);
    t.same(d.send({ type: 'account.hold_expired', at: T0 + 101, holdId: 'hold_1' }), []);
    t.equal(JSON.stringify(d.context), before);
  });

  t.test('settling a hold with an expiry disarms its timer', async (t) => {
    const d = funded(10);
    hold(d, 'hold_1', USD, { expiresAt: T0 + 3_600_000 });
    d.send({ type: 'account.settle_hold', at: T0 + 100, holdId: 'hold_1', actualMicros: 10 });
    t.same(d.effects, [{ type: 'cancelTimer', params: { timerId: 'hold:hold_1' } }]);
  });

  t.test('release frees the hold without a charge', async (t) => {
    const d = funded(10);
    hold(d, 'hold_1', 3 * USD, { expiresAt: T0 + 3_600_000 });
    d.send({ type: 'account.release_hold', at: T0 + 100, holdId: 'hold_1' });
    t.same(effectTypes(d.effects), ['cancelTimer:hold:hold_1']);
    t.match(d.context.holds, [{ status: 'released', closeReason: 'released', settledMicros: null }]);
    t.equal(availableMicros(d.context), 10 * USD);
    t.equal(d.context.ledger.length, 1);
  });

  t.test('an expired hold is released; a settle after that is ignored', async (t) => {
    const d = funded(10);
    hold(d, 'hold_1', 3 * USD, { expiresAt: T0 + 1000 });
    d.send({ type: 'account.hold_expired', at: T0 + 1000, holdId: 'hold_1' });
    t.same(d.effects, []);
    t.match(d.context.holds, [{ status: 'released', closeReason: 'expired' }]);
    d.send({ type: 'account.settle_hold', at: T0 + 2000, holdId: 'hold_1', actualMicros: USD });
    t.equal(d.context.balanceMicros, 10 * USD);
  });

  t.test('a rejected hold cannot be settled', async (t) => {
    const d = funded(1);
    hold(d, 'hold_1', 5 * USD);
    d.send({ type: 'account.settle_hold', at: T0 + 100, holdId: 'hold_1', actualMicros: USD });
    t.equal(d.context.balanceMicros, USD);
  });
});

t.test('quotes', async (t) => {
  function quoted() {
    const d = account();
    d.send({ type: 'account.open_quote', at: T0 + 5, quoteId: 'q1', kind: 'topup', amountMicros: 5 * USD, expiresAt: T0 + 900_000 });
    return d;
  }

  t.test('open_quote records an open quote with an expiry timer', async (t) => {
    const d = quoted();
    t.same(d.effects, [{ type: 'scheduleTimer', params: { timerId: 'quote:q1', dueAt: T0 + 900_000, event: { type: 'account.quote_expired', quoteId: 'q1' } } }]);
    t.match(d.context.quotes, [{ id: 'q1', kind: 'topup', status: 'open', amountMicros: 5 * USD }]);
    t.same(d.send({ type: 'account.open_quote', at: T0 + 6, quoteId: 'q1', kind: 'topup', amountMicros: 9 * USD, expiresAt: T0 + 1 }), [], 'ids are unique');
    t.same(d.send({ type: 'account.open_quote', at: T0 + 6, quoteId: 'q2', kind: 'topup', amountMicros: 0, expiresAt: T0 + 1 }), [], 'zero quotes are refused');
    t.equal(d.context.quotes.length, 1);
  });

  t.test('quote_paid credits once per payment reference and disarms the timer', async (t) => {
    const d = quoted();
    d.send({ type: 'account.quote_paid', at: T0 + 50, quoteId: 'q1', reference: '0xnonce1' });
    t.same(d.effects, [{ type: 'cancelTimer', params: { timerId: 'quote:q1' } }]);
    t.equal(d.context.balanceMicros, 5 * USD);
    t.match(d.context.ledger, [{ kind: 'credit', reason: 'topup', reference: '0xnonce1', quoteId: 'q1' }]);
    t.match(d.context.quotes, [{ status: 'paid', paidAt: T0 + 50, reference: '0xnonce1' }]);
    t.same(d.send({ type: 'account.quote_paid', at: T0 + 51, quoteId: 'q1', reference: '0xnonce1' }), []);
    t.equal(d.context.balanceMicros, 5 * USD);
  });

  t.test('a payment reference already credited is not credited again through another quote', async (t) => {
    const d = quoted();
    d.send({ type: 'account.open_quote', at: T0 + 6, quoteId: 'q2', kind: 'shortfall', amountMicros: USD, expiresAt: T0 + 900_000 });
    d.send({ type: 'account.quote_paid', at: T0 + 50, quoteId: 'q1', reference: '0xnonce1' });
    d.send({ type: 'account.quote_paid', at: T0 + 51, quoteId: 'q2', reference: '0xnonce1' });
    t.equal(d.context.balanceMicros, 5 * USD);
  });

  t.test('quote_expired closes an open quote; a payment that settles after still credits', async (t) => {
    const d = quoted();
    d.send({ type: 'account.quote_expired', at: T0 + 900_000, quoteId: 'q1' });
    t.match(d.context.quotes, [{ status: 'expired' }]);
    t.same(d.send({ type: 'account.quote_expired', at: T0 + 900_001, quoteId: 'q1' }), []);
    d.send({ type: 'account.quote_paid', at: T0 + 900_500, quoteId: 'q1', reference: '0xlate' });
    t.same(d.effects, [], 'no timer left to disarm');
    t.equal(d.context.balanceMicros, 5 * USD);
    t.match(d.context.quotes, [{ status: 'paid' }]);
  });

  t.test('unknown quotes are ignored', async (t) => {
    const d = account();
    t.same(d.send({ type: 'account.quote_paid', at: T0, quoteId: 'nope', reference: 'r' }), []);
    t.equal(d.context.balanceMicros, 0);
  });
});

t.test('persist → JSON → resolveState → continue', async (t) => {
  const d = funded(10);
  hold(d, 'hold_1', 4 * USD, { expiresAt: T0 + 1000 });
  d.send({ type: 'account.open_quote', at: T0 + 5, quoteId: 'q1', kind: 'topup', amountMicros: USD, expiresAt: T0 + 900_000 });
  t.strictSame(d.persisted().context, d.context, 'context is plain JSON: nothing lost or changed by JSON');
  d.roundTrip();
  t.equal(d.value, 'open');
  t.equal(availableMicros(d.context), 6 * USD);
  hold(d, 'hold_2', 7 * USD);
  t.match(sendsOf(d.effects, 'job.hold_rejected'), [{ event: { availableMicros: 6 * USD } }], 'restored holds still count');
  d.send({ type: 'account.settle_hold', at: T0 + 500, holdId: 'hold_1', actualMicros: USD });
  d.roundTrip();
  t.equal(d.context.balanceMicros, 9 * USD);
  t.equal(d.context.nextLedgerSeq, 3);
  d.send({ type: 'account.credit', at: T0 + 600, amountMicros: USD, reason: 'topup', reference: 'n2' });
  t.equal(d.context.ledger[2]?.id, `${ACCT}.l3`, 'ledger ids continue after restore');
});

t.test('read model (GET /api/v1/account/balance)', async (t) => {
  const d = funded(10);
  hold(d, 'hold_1', 2_500_000);
  hold(d, 'hold_2', 1 * USD);
  d.send({ type: 'account.settle_hold', at: T0 + 100, holdId: 'hold_2', actualMicros: 400_000 });
  d.send({ type: 'account.open_quote', at: T0 + 5, quoteId: 'q1', kind: 'topup', amountMicros: 5 * USD, expiresAt: T0 + 900_000 });
  const view = accountReadModel(d.persisted() as never, ACCT) as Record<string, unknown>;
  t.match(view, {
    account_id: ACCT,
    currency: 'USD',
    ledger_balance_usd: 9.6,
    held_usd: 2.5,
    available_usd: 7.1,
    active_hold_count: 1,
    open_quote_count: 1,
    holds: [
      { id: 'hold_2', status: 'settled', amount_usd: 1, settled_usd: 0.4 },
      { id: 'hold_1', status: 'active', amount_usd: 2.5, settled_usd: null },
    ],
    ledger: [
      { kind: 'debit', amount_usd: 0.4, balance_after_usd: 9.6, reason: 'job_settlement', job_id: JOB },
      { kind: 'credit', amount_usd: 10, balance_after_usd: 10, reason: 'grant' },
    ],
    quotes: [{ id: 'q1', status: 'open', amount_usd: 5 }],
  });
});
