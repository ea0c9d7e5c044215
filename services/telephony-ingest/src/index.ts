export * from './config.js';
export * from './telephony-ingest.app.js';
export { signWebhook, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './webhook-signature.js';
export { mapGenericWebhook, webhookEventId, GENERIC_PROVIDER } from './generic-webhook.js';
