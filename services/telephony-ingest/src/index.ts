export * from './config.js';
export * from './telephony-ingest.app.js';
export { signWebhook, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './webhooks/shared/webhook-signature.js';
export { mapGenericWebhook, webhookEventId, GENERIC_PROVIDER } from './webhooks/generic/generic-mapping.js';
// Provider signatures as the providers compute them (for end-to-end tests and tools that replay provider traffic).
export { twilioSignature } from './webhooks/twilio/twilio-signature.js';
export { zadarmaSignature, zadarmaSignedString } from './webhooks/zadarma/zadarma-signature.js';
export { mangoSign } from './webhooks/mango/mango-signature.js';
export { telnyxSignedPayload } from './webhooks/telnyx/telnyx-signature.js';
