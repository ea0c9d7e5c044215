import { getCountries, Metadata, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';

export type { CountryCode };

/**
 * Normalises a phone number as written by a person or a provider ("8 495
 * 123-45-67", "+7 (495) 123-45-67", "74951234567") to E.164, using the site's
 * country for numbers without a country code. Returns undefined when the input
 * is not a valid number.
 */
export function toE164(raw: string, country: string): string | undefined {
  const input = raw.trim();
  if (!input || input.length > 40) return undefined;
  const cc = country.toUpperCase() as CountryCode;
  let parsed = parsePhoneNumberFromString(input, cc);
  // Providers often send international numbers without the leading "+".
  if (!parsed?.isValid() && /^\d{10,15}$/.test(input)) parsed = parsePhoneNumberFromString(`+${input}`);
  if (!parsed?.isValid()) return undefined;
  return parsed.number;
}

/** True for an ISO 3166-1 alpha-2 code that libphonenumber has numbering metadata for. */
export function isSupportedCountry(country: string): boolean {
  return getCountries().includes(country as CountryCode);
}

/**
 * How numbers of a country are written on web pages: the country calling code and
 * the national (trunk) prefix, e.g. RU → { callingCode: "7", nationalPrefix: "8" },
 * GB → { "44", "0" }, US → { "1", "1" }. From libphonenumber's metadata.
 */
export function numberFormatsOf(e164: string, country: string): { callingCode: string; nationalPrefix: string } {
  const parsed = parsePhoneNumberFromString(e164, country.toUpperCase() as CountryCode);
  const callingCode = parsed?.countryCallingCode ?? '';
  const metadata = new Metadata();
  metadata.selectNumberingPlan((parsed?.country ?? country.toUpperCase()) as CountryCode);
  // nationalPrefix() exists at run time but is missing from the typings.
  const plan = metadata.numberingPlan as unknown as { nationalPrefix(): string | undefined } | undefined;
  return { callingCode, nationalPrefix: plan?.nationalPrefix() ?? '' };
}
