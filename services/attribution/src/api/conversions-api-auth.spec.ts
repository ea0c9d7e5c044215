// The gRPC API's token check follows the HTTP admin rule: the Bearer scheme in any
// case, exactly one authorization entry. Checked before anything reaches the store.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Metadata, status } from '@grpc/grpc-js';
import { RpcException } from '@nestjs/microservices';
import type { AttributionStore } from '../store/attribution-store.js';
import type { AttributionConfig } from '../config.js';
import { ConversionsApiGrpcController } from './conversions-api.grpc.js';

const TOKEN = 'grpc-token-0123456789abcdef';
// The store is never reached: every call below stops at the token or at the site id check.
const api = new ConversionsApiGrpcController(undefined as unknown as AttributionStore, { GRPC_API_TOKEN: TOKEN } as AttributionConfig);

async function refusal(...authorization: string[]): Promise<{ code: number; message: string }> {
  const md = new Metadata();
  for (const value of authorization) md.add('authorization', value);
  try {
    await api.listCalls({ siteId: 'NOT A SITE' }, md);
  } catch (err) {
    assert.ok(err instanceof RpcException);
    return err.getError() as { code: number; message: string };
  }
  throw new Error('expected an error');
}

describe('ConversionsApi authorization', () => {
  it('accepts the bearer scheme in any case (the call then fails on its site id, not on the token)', async () => {
    for (const header of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `BEARER ${TOKEN}`]) {
      const r = await refusal(header);
      assert.equal(r.code, status.INVALID_ARGUMENT, header);
      assert.match(r.message, /^site_id/, header);
    }
  });

  it('refuses two authorization entries, a missing one and a wrong token', async () => {
    for (const second of ['Bearer other-token-0123456789', `Bearer ${TOKEN}`]) {
      const r = await refusal(`Bearer ${TOKEN}`, second);
      assert.equal(r.code, status.INVALID_ARGUMENT);
      assert.match(r.message, /exactly one/, 'refused for the duplicate, even when both are right');
    }
    assert.equal((await refusal()).code, status.UNAUTHENTICATED);
    assert.equal((await refusal('Basic dXNlcjpwYXNz')).code, status.UNAUTHENTICATED);
    assert.equal((await refusal('Bearer wrong-token-0123456789')).code, status.PERMISSION_DENIED);
  });
});
