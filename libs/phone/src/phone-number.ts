import { getCountries, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';

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
