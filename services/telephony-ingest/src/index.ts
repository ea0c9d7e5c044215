export * from './config.js';
export * from './telephony-ingest.app.js';
export { signWebhook, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './webhook-signature.js';
export { mapGenericWebhook, webhookEventId, GENERIC_PROVIDER } from './generic-webhook.js';
// Provider signatures as the providers compute them (for end-to-end tests and tools that replay provider traffic).
export { twilioSignature } from './twilio-signature.js';
export { zadarmaSignature, zadarmaSignedString } from './zadarma-signature.js';
export { mangoSign } from './mango-signature.js';
export { telnyxSignedPayload } from './telnyx-signature.js';
