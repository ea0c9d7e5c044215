import { z } from 'zod';

/** Site ids as number-pool accepts them (the sites topic is the source of truth). */
export const siteIdSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'site id: 1-63 lowercase letters, digits, "-" or "_"');
