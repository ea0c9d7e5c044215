import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newEventId } from '@calltrack/contracts';
import { mayBeLiveSession, SESSION_END_WINDOW_MS, sessionStartOf } from './session-ids.js';

describe('session ids', () => {
  it('reads the start time out of an id session-tracker minted', () => {
    const before = Date.now();
    const id = newEventId();
    const started = sessionStartOf(id)!;
    assert.ok(started >= before && started <= Date.now(), `${started} within the minting`);
    assert.equal(mayBeLiveSession(id, Date.now()), true);
  });

  it('knows ids it never issues: not a UUIDv7, from the future, or older than a visit can be', () => {
    assert.equal(sessionStartOf('session-0001'), undefined);
    assert.equal(sessionStartOf('6f9619ff-8b86-4d11-b42d-00c04fc964ff'), undefined, 'a UUIDv4');
    const id = newEventId();
    const started = sessionStartOf(id)!;
    assert.equal(mayBeLiveSession(id, started + SESSION_END_WINDOW_MS), true);
    assert.equal(mayBeLiveSession(id, started + SESSION_END_WINDOW_MS + 1), false, 'too old');
    assert.equal(mayBeLiveSession(id, started - 120_000), false, 'from the future');
  });
});
