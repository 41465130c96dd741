// Fairness across tenants at one instant: each active tenant's fair allocation is the weighted
// max-min ("water-filling") share of the cluster's GPUs, capped by what the tenant asks for now
// (its running + pending GPUs), with weights = its guaranteed GPUs (equal weights without quotas).
// Jain's index over active tenants of x = allocated / fair is 1 when every tenant holds exactly its
// fair allocation and tends to 1/n when one tenant holds everything.
// Always: Σ fair ≤ capacity; 0 ≤ fair_i ≤ demand_i; a tenant whose demand is under its weighted
// share gets all of it; Jain's index is in [1/n, 1].

/** Weighted max-min allocation of `capacity` among demands (same order as the inputs). */
export function waterFill(demands: readonly number[], weights: readonly number[], capacity: number): number[] {
  const fair = demands.map(() => 0);
  let left = capacity;
  let open = demands.map((_, i) => i).filter((i) => demands[i]! > 0 && weights[i]! > 0);
  while (open.length > 0 && left > 1e-9) {
    const weight = open.reduce((sum, i) => sum + weights[i]!, 0);
    const level = left / weight;
    const capped = open.filter((i) => demands[i]! - fair[i]! <= level * weights[i]!);
    if (capped.length === 0) {
      for (const i of open) fair[i]! += level * weights[i]!;
      break;
    }
    for (const i of capped) {
      left -= demands[i]! - fair[i]!;
      fair[i] = demands[i]!;
    }
    const done = new Set(capped);
    open = open.filter((i) => !done.has(i));
  }
  return fair;
}

/** Jain's fairness index (Σx)² / (n·Σx²); 1 for an empty or all-zero list. */
export function jain(values: readonly number[]): number {
  if (values.length === 0) return 1;
  let sum = 0;
  let squares = 0;
  for (const v of values) {
    sum += v;
    squares += v * v;
  }
  return squares === 0 ? 1 : (sum * sum) / (values.length * squares);
}
