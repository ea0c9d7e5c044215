import { Inject, Injectable } from '@nestjs/common';
import { createHmac, randomBytes } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { CONFIG, LOGGER } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import type { SessionTrackerConfig } from './config.js';

/**
 * The form of a client address that number-pool sees (the holder-share limit): an
 * address is personal data, so only a keyed hash of it goes on a topic. IPv6
 * addresses are cut to their /64 first, the block one subscriber gets, so that an
 * address rotated within it is still the same holder.
 */
@Injectable()
export class ClientAddressKeys {
  private readonly key: Buffer;

  constructor(@Inject(CONFIG) config: SessionTrackerConfig, @Inject(LOGGER) logger: Logger) {
    if (config.CLIENT_ADDRESS_HASH_KEY) this.key = Buffer.from(config.CLIENT_ADDRESS_HASH_KEY, 'utf8');
    else {
      // Still a keyed hash, but each instance has its own key: an address reaching two instances counts as two holders.
      this.key = randomBytes(32);
      logger.warn({
        event: 'client_address_key_random',
        hint: 'set CLIENT_ADDRESS_HASH_KEY (the same on every instance) so pool shares per address hold across instances and restarts',
      });
    }
  }

  /**
   * '' (no address share, the visitor share still applies) for loopback: such a peer is a
   * local tool, a test, or a local proxy missing from HTTP_TRUST_PROXY, whose visitors
   * would otherwise all share one address's few numbers.
   */
  keyOf(address: string): string {
    const holder = holderAddress(address);
    if (isLoopback(holder)) return '';
    return holder ? createHmac('sha256', this.key).update(holder).digest('base64url').slice(0, 22) : '';
  }
}

const isLoopback = (holder: string): boolean => holder.startsWith('127.') || holder === '0:0:0:0::/64';

/** The address a holder is known by: IPv4 as is (also IPv4-mapped IPv6), IPv6 cut to its /64; '' when not an address. */
export function holderAddress(address: string): string {
  const ip = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped && isIPv4(mapped[1]!)) return mapped[1]!;
  if (isIPv4(ip)) return ip;
  if (!isIPv6(ip)) return '';
  const [head = '', tail] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  // An embedded IPv4 tail (x:x::1.2.3.4) lies in the last 32 bits, outside the /64 kept.
  const groups = tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
