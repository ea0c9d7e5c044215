import { createHmac } from 'node:crypto';

/** Signs a generic telephony webhook body the way docs/webhooks-generic.md tells providers to. */
export function signGenericWebhook(secret: string, body: string, timestampSeconds = Math.floor(Date.now() / 1000)): Record<string, string> {
  const signature = createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex');
  return {
    'content-type': 'application/json',
    'x-calltrack-timestamp': String(timestampSeconds),
    'x-calltrack-signature': `v1=${signature}`,
  };
}
