import { counter } from '@calltrack/telemetry';

// Defined at load: a scrape lists the metric from the start, before the first webhook.
const webhooks = counter({
  name: 'calltrack_webhooks_total',
  help: 'Telephony webhooks, AMI events and enquiries of known sites, by provider, outcome (accepted, ignored, refused) and refusal reason.',
  labelNames: ['provider', 'outcome', 'reason'] as const,
});

/**
 * calltrack_webhooks_total{provider,outcome,reason}: events of known sites by provider (generic,
 * twilio, zadarma, mango, telnyx, asterisk, enquiries), outcome (accepted, ignored, refused) and
 * refusal reason ("" unless refused). Fed by WebhookStats and ProviderWebhookStats, whose labels
 * are fixed lists in the code: no site id.
 */
export function countWebhook(provider: string, outcome: 'accepted' | 'ignored' | 'refused', reason = ''): void {
  webhooks.inc({ provider, outcome, reason });
}
