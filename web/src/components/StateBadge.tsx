// A job state as a coloured badge with its text (colour is never the only signal).

export function StateBadge({ state }: { state: string }) {
  return <span className={`badge state-${state.toLowerCase()}`}>{state}</span>;
}
