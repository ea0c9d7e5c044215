import { BlockList, isIP } from 'node:net';
import { z } from 'zod';
import type { WebhookProvider } from '../../sites/provider-credentials.js';

/** One provider's allowed source addresses (node's BlockList does the CIDR matching). */
export interface SourceAllowlist {
  allows(address: string | undefined): boolean;
}

export type SourceAllowlists = Partial<Record<WebhookProvider, SourceAllowlist>>;

// "81.88.80.132" or "185.45.152.0/24" (IPv4 or IPv6).
function parseEntry(entry: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', prefixText] = entry.split('/');
  const version = isIP(address);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** A config variable's schema: comma-separated addresses or CIDR ranges; empty = no restriction. */
export const sourceAddressList = z
  .string()
  .default('')
  .transform((text, ctx) => {
    const entries = text
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean);
    for (const e of entries) if (!parseEntry(e)) ctx.addIssue({ code: 'custom', message: `"${e}" is not an IP address or CIDR range` });
    return entries;
  });

export function sourceAllowlist(entries: readonly string[]): SourceAllowlist {
  const list = new BlockList();
  for (const e of entries) {
    const { address, prefix, family } = parseEntry(e)!;
    list.addSubnet(address, prefix, family);
  }
  return {
    allows(address) {
      if (!address) return false;
      // An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d.
      const v4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address)?.[1];
      const ip = v4 ?? address;
      const version = isIP(ip);
      return version !== 0 && list.check(ip, version === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

export function sourceAllowlists(config: { ZADARMA_SOURCE_ADDRESSES: string[]; MANGO_SOURCE_ADDRESSES: string[] }): SourceAllowlists {
  const out: SourceAllowlists = {};
  if (config.ZADARMA_SOURCE_ADDRESSES.length > 0) out.zadarma = sourceAllowlist(config.ZADARMA_SOURCE_ADDRESSES);
  if (config.MANGO_SOURCE_ADDRESSES.length > 0) out.mango = sourceAllowlist(config.MANGO_SOURCE_ADDRESSES);
  return out;
}
