import { SITE_ID_PATTERN, SITE_ID_RULE } from '@calltrack/contracts';
import { z } from 'zod';
import { isTimeZone } from '../intake/local-time.js';

// FreePBX / common dialplans: trunk calls land in from-trunk / from-pstn, phones dial from from-internal.
export const DEFAULT_INBOUND_CONTEXTS = ['from-trunk', 'from-pstn'];
export const DEFAULT_OUTBOUND_CONTEXTS = ['from-internal'];

const contextList = z.array(z.string().min(1).max(80)).max(50);

/** One PBX followed over AMI (an element of ASTERISK_AMI_PBXES). */
export const amiPbxSchema = z
  .object({
    siteId: z.string().regex(SITE_ID_PATTERN, SITE_ID_RULE),
    host: z.string().min(1).max(255),
    port: z.number().int().min(1).max(65535).default(5038),
    username: z.string().min(1).max(80),
    secret: z.string().min(1).max(256),
    // Distinguishes the call ids of several PBXes of one site (Linkedid is unique per PBX only).
    name: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,40}$/, '1-40 letters, digits, ".", "_" or "-"')
      .optional(),
    inboundContexts: contextList.default(DEFAULT_INBOUND_CONTEXTS),
    outboundContexts: contextList.default(DEFAULT_OUTBOUND_CONTEXTS),
    // CDR times are the PBX's wall clock; default: the site's time zone.
    timeZone: z.string().refine(isTimeZone, 'not an IANA time zone').optional(),
  })
  .strict();

export type AmiPbxConfig = z.infer<typeof amiPbxSchema> & { name: string };

/** ASTERISK_AMI_PBXES: a JSON array of PBXes; names default to the host and must be unique. */
export const amiPbxListSchema = z
  .string()
  .transform((text, ctx): unknown => {
    try {
      return JSON.parse(text);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'expected a JSON array of PBXes' });
      return z.NEVER;
    }
  })
  .pipe(z.array(amiPbxSchema).max(100))
  .transform((list, ctx): AmiPbxConfig[] => {
    const named = list.map((p) => ({ ...p, name: p.name ?? p.host }));
    const seen = new Set<string>();
    for (const p of named) {
      const id = `${p.siteId}/${p.name}`;
      if (seen.has(id)) ctx.addIssue({ code: 'custom', message: `two PBXes of site ${p.siteId} are named "${p.name}": give each a unique "name"` });
      seen.add(id);
    }
    return named;
  });
