import { Injectable } from '@nestjs/common';
import { callKey, createEvent, newEventId, type DomainEvent } from '@calltrack/contracts';
import { KafkaBus } from '@calltrack/kafka';
import { ApiError } from '@calltrack/service-kit';
import { AttributionStore } from '../store/attribution-store.js';
import { SERVICE_NAME } from '../config.js';
import { callCommentRow, callTagRow, isoFromClickHouse } from '../store/row-mappers.js';
import { str } from '../store/values.js';
import type { StepResult } from '../step-result.js';

export interface CallAnnotations {
  tags: Array<{ tag: string; author: string; taggedAt: string | null }>;
  comments: Array<{ commentId: string; text: string; author: string; createdAt: string | null }>;
}

/**
 * Tags and comments on calls: each change is an event on the call-annotations topic
 * (keyed by site and call, so one call's changes stay ordered), which the state
 * consumer projects into `call_tags` and `call_comments`. The API also writes the row
 * itself once Kafka acknowledged the event, so a read right after sees it; the
 * projection writes the same row again (same key and version: it collapses).
 */
@Injectable()
export class CallAnnotationsService {
  constructor(
    private readonly bus: KafkaBus,
    private readonly store: AttributionStore,
  ) {}

  async tag(siteId: string, callId: string, tag: string, author: string, present: boolean): Promise<void> {
    const meta = { siteId, producer: SERVICE_NAME };
    const event = present ? createEvent('CallTagAdded', { callId, tag, author }, meta) : createEvent('CallTagRemoved', { callId, tag, author }, meta);
    const row = storable(callTagRow(event));
    await this.publish(event);
    await this.store.write('call_tags', [row], `api:${event.eventId}`);
  }

  async comment(siteId: string, callId: string, text: string, author: string): Promise<{ commentId: string; createdAt: string }> {
    const event = createEvent('CallCommentAdded', { callId, commentId: newEventId(), text, author }, { siteId, producer: SERVICE_NAME });
    const row = storable(callCommentRow(event));
    await this.publish(event);
    await this.store.write('call_comments', [row], `api:${event.eventId}`);
    return { commentId: event.payload.commentId, createdAt: new Date(event.occurredAtMs).toISOString() };
  }

  private async publish(event: DomainEvent<'CallTagAdded'> | DomainEvent<'CallTagRemoved'> | DomainEvent<'CallCommentAdded'>): Promise<void> {
    await this.bus.producer.publish('callAnnotations', callKey(event.siteId, event.payload.callId), event);
  }

  async annotations(siteId: string, callId: string): Promise<CallAnnotations> {
    const [tags, comments] = await Promise.all([
      this.store.query<Record<string, unknown>>(
        `SELECT tag, author, changed_at FROM call_tags FINAL WHERE site_id = {site:String} AND call_id = {call:String} ORDER BY tag`,
        { site: siteId, call: callId },
      ),
      this.store.query<Record<string, unknown>>(
        `SELECT comment_id, text, author, created_at FROM call_comments FINAL WHERE site_id = {site:String} AND call_id = {call:String}
           ORDER BY created_at, comment_id`,
        { site: siteId, call: callId },
      ),
    ]);
    return {
      tags: tags.map((t) => ({ tag: str(t['tag']), author: str(t['author']), taggedAt: isoFromClickHouse(t['changed_at']) })),
      comments: comments.map((c) => ({
        commentId: str(c['comment_id']),
        text: str(c['text']),
        author: str(c['author']),
        createdAt: isoFromClickHouse(c['created_at']),
      })),
    };
  }
}

/** The row of an annotation the projection could store; one it would dead-letter is refused before it is published. */
function storable<T>(row: StepResult<T>): T {
  if (!row.ok) throw new ApiError(400, 'invalid_annotation', row.reason);
  return row.value;
}
