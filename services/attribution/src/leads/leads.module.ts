import { Module } from '@nestjs/common';
import { StoreModule } from '../store/store.module.js';
import { LeadProjection } from './lead-projection.js';

/** Leads: which contacts (calls and enquiries) are one person's lead (lead-grouping.ts), and the `leads` table kept in step (LeadProjection). */
@Module({ imports: [StoreModule], providers: [LeadProjection], exports: [LeadProjection] })
export class LeadsModule {}
