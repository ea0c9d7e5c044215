/** One offending field, named as the sender named it (a body field, a provider's form field, `json.from.number`…). */
export interface FieldProblem {
  field: string;
  problem: string;
}
