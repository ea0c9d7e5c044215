// Request bodies of number-pool's admin API: validation (ZodValidationPipe) and
// the OpenAPI document (openapi-document.ts) are generated from these schemas.
import { CHANNELS, CLICK_ID_CONDITIONS, TRACKING_METHODS } from '@calltrack/contracts';
import { isSupportedCountry } from '@calltrack/phone';
import { z } from 'zod';
import { SHORTAGE_POLICIES } from './pool-state.js';
import { DEFAULT_QUARANTINE_SECONDS } from './site-config.js';

const phone = z.string().min(3).max(40).describe('A phone number in any common format; stored in E.164 using the site country.');
const text = (max: number) => z.string().max(max);

export const staticSourceBody = z
  .object({
    channel: z.enum(CHANNELS).optional().describe('Channel credited for the calls (docs/channels.md).'),
    utmSource: text(200).default(''),
    utmMedium: text(200).default(''),
    utmCampaign: text(200).default(''),
    label: text(200).default('').describe('Offline medium: "flyer", "billboard on the ring road".'),
  })
  .strict();

export const ruleBody = z
  .object({
    id: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/)
      .optional()
      .describe('Generated when missing.'),
    channels: z.array(z.enum(CHANNELS)).max(9).default([]),
    utmSource: text(200).default(''),
    utmMedium: text(200).default(''),
    utmCampaign: text(200).default(''),
    referrerDomain: z
      .string()
      .regex(/^([a-z0-9-]+\.)+[a-z]{2,}$/i, 'a domain name such as partner.example')
      .or(z.literal(''))
      .default(''),
    landingPathPrefix: z.string().regex(/^\/.*/, 'a path starting with "/"').max(500).or(z.literal('')).default(''),
    clickId: z.enum(CLICK_ID_CONDITIONS).default(''),
    method: z.enum(TRACKING_METHODS),
    staticNumber: phone.optional().describe('With method "static": an active static number of the site.'),
  })
  .strict();

export const rulesBody = z.object({ rules: z.array(ruleBody).max(100) }).strict();

export const promoCodesBody = z
  .object({
    length: z.number().int().min(4).max(12).default(6),
    alphabet: z
      .string()
      .regex(/^[A-Z0-9]+$/, 'upper-case letters and digits')
      .refine((a) => new Set(a).size === a.length, 'characters must not repeat')
      .refine((a) => a.length >= 10, 'at least 10 characters')
      .default('ABCDEFGHJKMNPQRSTUVWXYZ23456789'),
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9-]{0,10}$/, 'up to 10 letters, digits or "-"')
      .default(''),
  })
  .strict();

export const siteBody = z
  .object({
    name: z.string().min(1).max(200),
    country: z.string().refine(isSupportedCountry, 'not a supported ISO 3166-1 alpha-2 country code'),
    timeZone: z.string().refine((tz) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'not an IANA time zone'),
    defaultNumber: phone,
    otherSiteNumbers: z.array(phone).max(20).default([]).describe('Other own numbers printed on the pages; the tracker replaces them too.'),
    poolNumbers: z.array(phone).max(10_000).default([]),
    leaseTtlSeconds: z.number().int().min(60).max(86_400).default(900).describe('The lease tail after the last heartbeat.'),
    shortagePolicy: z.enum(SHORTAGE_POLICIES).default('default_number'),
    overflowNumber: phone.optional(),
    staticNumbers: z
      .array(staticSourceBody.extend({ number: phone }))
      .max(10_000)
      .default([]),
    quarantineSeconds: z
      .number()
      .int()
      .min(0)
      .max(90 * 86_400)
      .default(DEFAULT_QUARANTINE_SECONDS),
    rules: z.array(ruleBody).max(100).default([]),
    promoCodes: promoCodesBody.default({ length: 6, alphabet: 'ABCDEFGHJKMNPQRSTUVWXYZ23456789', prefix: '' }),
  })
  .strict();

export const addNumberBody = z
  .object({
    number: phone,
    usage: z.enum(['pool', 'static']),
    source: staticSourceBody.optional().describe('For a static number.'),
    skipQuarantine: z.boolean().default(false).describe('A brand-new number that never belonged to anyone.'),
  })
  .strict();

export const retireNumberBody = z.object({ replacedBy: phone.optional() }).strict();

export type SiteBody = z.infer<typeof siteBody>;
export type RuleBody = z.infer<typeof ruleBody>;
export type AddNumberBody = z.infer<typeof addNumberBody>;
export type StaticSourceBody = z.infer<typeof staticSourceBody>;
