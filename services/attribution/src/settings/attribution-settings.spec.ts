import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEvent } from '@calltrack/contracts';
import {
  DEFAULT_SETTINGS,
  settingsBodySchema,
  settingsEventInput,
  settingsFromBody,
  settingsFromEvent,
  settingsRow,
  settingsView,
} from './attribution-settings.js';

const problems = (body: unknown): string[] => {
  const r = settingsBodySchema.safeParse(body);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('attribution settings', () => {
  it('fills what a body leaves out with the documented defaults', () => {
    assert.deepEqual(settingsFromBody(settingsBodySchema.parse({})), {
      lookbackDays: 30,
      defaultModel: 'last_non_direct_click',
      timeDecayHalfLifeDays: 7,
      positionFirstShare: 0.4,
      positionLastShare: 0.4,
      targetCallSeconds: 30,
      repeatCallerWindowDays: 30,
      leadWindowDays: 7,
      callbackWindowHours: 24,
      workingHours: [],
      holidays: [],
      markovOrder: 1,
      markovPathCap: 50,
    });
    assert.deepEqual(settingsFromBody(settingsBodySchema.parse({})), { ...DEFAULT_SETTINGS });
  });

  it('reads working hours per weekday and sorts holidays', () => {
    const s = settingsFromBody(
      settingsBodySchema.parse({
        workingHours: { mon: [{ from: '09:00', to: '18:00' }], sun: [{ from: '22:00', to: '02:00' }] },
        holidays: ['2026-05-09', '2026-01-01'],
        lookbackDays: 180,
      }),
    );
    assert.deepEqual(s.workingHours, [
      { weekday: 1, fromMinute: 540, toMinute: 1080 },
      { weekday: 7, fromMinute: 1320, toMinute: 120 },
    ]);
    assert.deepEqual(s.holidays, ['2026-01-01', '2026-05-09']);
    assert.equal(s.lookbackDays, 180);
    assert.deepEqual((settingsView(s) as { workingHours: unknown }).workingHours, {
      mon: [{ from: '09:00', to: '18:00' }],
      sun: [{ from: '22:00', to: '02:00' }],
    });
  });

  it('refuses out-of-range values, unknown fields and malformed times, naming the field', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ lookbackDays: 181 }, /^lookbackDays: lookbackDays must be 1-180/],
      [{ lookbackDays: 0 }, /^lookbackDays: /],
      [{ lookbackDays: 7.5 }, /whole number/],
      [{ lookbackDays: '30' }, /must be a number/],
      [{ defaultModel: 'w_shaped' }, /^defaultModel: defaultModel must be one of last_non_direct_click/],
      [{ timeDecayHalfLifeDays: 0 }, /^timeDecayHalfLifeDays: /],
      [{ positionBased: { firstShare: 0.7, lastShare: 0.4 } }, /firstShare \+ lastShare must be at most 1/],
      [{ positionBased: { firstShare: 0.4 } }, /^positionBased.lastShare/],
      [{ targetCallSeconds: -1 }, /^targetCallSeconds/],
      [{ callbackWindowHours: 169 }, /^callbackWindowHours: callbackWindowHours must be 1-168/],
      [{ repeatCallerWindowDays: 366 }, /^repeatCallerWindowDays/],
      [{ leadWindowDays: 0 }, /^leadWindowDays/],
      [{ workingHours: { mon: [{ from: '9:00', to: '18:00' }] } }, /^workingHours.mon.0.from: from must be HH:MM/],
      [{ workingHours: { mon: [{ from: '24:00', to: '18:00' }] } }, /from must be before 24:00/],
      [{ workingHours: { mon: [{ from: '09:00', to: '09:00' }] } }, /from and to must differ/],
      [{ workingHours: { mon: [{ from: '09:00', to: '25:00' }] } }, /^workingHours.mon.0.to/],
      [{ workingHours: { monday: [] } }, /^workingHours: .*monday/],
      [{ workingHours: { mon: [] } }, /give at least one interval/],
      [{ holidays: ['2026-02-30'] }, /^holidays.0: holidays must be calendar dates/],
      [{ holidays: ['2026-01-01', '2026-01-01'] }, /must not repeat a date/],
      [{ lookback: 30 }, /lookback/],
    ];
    for (const [body, expected] of cases) {
      const found = problems(body);
      assert.ok(
        found.some((p) => expected.test(p)),
        `${JSON.stringify(body)} → ${JSON.stringify(found)}`,
      );
    }
  });

  it('round-trips through the event; a hand-written out-of-range value falls back to its default', () => {
    const s = settingsFromBody(settingsBodySchema.parse({ lookbackDays: 14, defaultModel: 'time_decay', targetCallSeconds: 0, holidays: ['2026-01-01'] }));
    const event = createEvent('AttributionSettingsChanged', settingsEventInput(s, 3, 'ops', 'update'), { siteId: 'shop', producer: 't', occurredAtMs: 1_000 });
    const back = settingsFromEvent(event.payload, event.occurredAtMs);
    assert.deepEqual({ ...back, revision: 0, changedAtMs: 0, changedBy: '' }, { ...s, revision: 0, changedAtMs: 0, changedBy: '' });
    assert.equal(back.targetCallSeconds, 0, 'zero is a value, not "unset"');
    assert.deepEqual([back.revision, back.changedBy, back.changedAtMs], [3, 'ops', 1_000]);
    assert.equal(settingsFromEvent({ revision: 1, settings: { lookbackDays: 999, defaultModel: 'nope' } }, 0).lookbackDays, 30);
    assert.equal(settingsFromEvent({ revision: 1, settings: { lookbackDays: 999, defaultModel: 'nope' } }, 0).defaultModel, 'last_non_direct_click');
    const row = settingsRow(event);
    assert.deepEqual([row.revision, row.lookback_days, row.default_model, row.reason, row.holidays], [3, 14, 'time_decay', 'update', ['2026-01-01']]);
  });
});
