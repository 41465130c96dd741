// The clock port: the only way core and scheduler code learn the time, so tests and the simulator
// can drive time themselves.

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
