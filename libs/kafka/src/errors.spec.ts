import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import type { Admin } from 'kafkajs';
import { isTransientKafkaError, kafkaErrorType, MetadataUnansweredError, NonRetriableError } from './errors.js';
import { fetchTopicMetadata, listTopics } from './topic-admin.js';

const { KafkaJSProtocolError, KafkaJSNumberOfRetriesExceeded, KafkaJSConnectionError, KafkaJSAggregateError, KafkaJSNonRetriableError } = kafkajs;
// Exported at run time, missing from kafkajs's type declarations.
const { KafkaJSCreateTopicError } = kafkajs as unknown as { KafkaJSCreateTopicError: new (e: Error, topic: string) => Error };
const protocol = (type: string, code: number, retriable: boolean) => new KafkaJSProtocolError({ type, code, retriable, message: type } as never);

describe('isTransientKafkaError', () => {
  it('retries the broker answers that pass on their own, directly or as the cause of exhausted client retries', () => {
    for (const [type, code] of [
      ['UNKNOWN_TOPIC_OR_PARTITION', 3],
      ['LEADER_NOT_AVAILABLE', 5],
      ['NOT_LEADER_FOR_PARTITION', 6],
      ['REQUEST_TIMED_OUT', 7],
      ['NOT_CONTROLLER', 41],
    ] as const) {
      const e = protocol(type, code, true);
      assert.equal(isTransientKafkaError(e), true, type);
      const exhausted = new KafkaJSNumberOfRetriesExceeded(e, { retryCount: 5, retryTime: 1000, cause: e } as never);
      assert.equal(isTransientKafkaError(exhausted), true, `${type} after retries`);
      assert.equal(kafkaErrorType(exhausted), type);
    }
    assert.equal(isTransientKafkaError(new KafkaJSConnectionError('Connection error: ECONNREFUSED')), true);
  });

  it('does not retry refusals, handler errors or a creation race mixed with a real refusal', () => {
    assert.equal(isTransientKafkaError(protocol('INVALID_CONFIG', 40, false)), false);
    assert.equal(isTransientKafkaError(protocol('TOPIC_AUTHORIZATION_FAILED', 29, false)), false);
    assert.equal(isTransientKafkaError(new Error('handler failed')), false);
    assert.equal(isTransientKafkaError(new NonRetriableError('bad record')), false);
    assert.equal(isTransientKafkaError(new KafkaJSNonRetriableError(protocol('INVALID_CONFIG', 40, false))), false);
    const exists = new KafkaJSCreateTopicError(protocol('TOPIC_ALREADY_EXISTS', 36, false), 't1');
    const racing = new KafkaJSAggregateError('Topic creation errors', [exists, new KafkaJSCreateTopicError(protocol('NOT_CONTROLLER', 41, true), 't2')]);
    assert.equal(isTransientKafkaError(racing), true, 'a concurrent creator and a moved controller: try again');
    const refused = new KafkaJSAggregateError('Topic creation errors', [exists, new KafkaJSCreateTopicError(protocol('INVALID_CONFIG', 40, false), 't3')]);
    assert.equal(isTransientKafkaError(refused), false);
  });

  it("reads kafkajs's null metadata answer (no broker answered) as transient, and passes other failures through", async () => {
    const failing = (err: Error) => ({ fetchTopicMetadata: async () => Promise.reject(err) }) as unknown as Admin;
    // What kafkajs's admin throws when every broker's metadata request failed (its withBroker returns null).
    const nullAnswer = new TypeError("Cannot read properties of null (reading 'topicMetadata')");
    const unanswered = await fetchTopicMetadata(failing(nullAnswer), ['t']).catch((e: unknown) => e);
    assert.ok(unanswered instanceof MetadataUnansweredError);
    assert.equal(isTransientKafkaError(unanswered), true);
    // listTopics destructures the same null answer.
    const destructured = new TypeError("Cannot destructure property 'topicMetadata' of '(intermediate value)' as it is null.");
    const listed = await listTopics({ listTopics: async () => Promise.reject(destructured) } as unknown as Admin).catch((e: unknown) => e);
    assert.ok(listed instanceof MetadataUnansweredError);
    const bug = new TypeError("Cannot read properties of undefined (reading 'length')");
    assert.equal(await fetchTopicMetadata(failing(bug), ['t']).catch((e: unknown) => e), bug);
    assert.equal(isTransientKafkaError(bug), false);
  });
});
