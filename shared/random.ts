/**
 * Small deterministic randomness for samples: a seeded uniform PRNG and normal draws. Pure (no clock, no I/O);
 * used by the benchmarks, the histogram tests and the demo's latency model.
 */

/**
 * mulberry32 (Tommy Ettinger's 32-bit PRNG): uniform in [0, 1). Same seed, same sequence, on every machine.
 * Not for anything secret.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/**
 * A standard normal value from two uniforms (Box–Muller transform): `u1` in (0, 1] (0 is clamped to 1e-12),
 * `u2` in [0, 1).
 */
export function boxMuller(u1: number, u2: number): number {
  return Math.sqrt(-2 * Math.log(Math.max(u1, 1e-12))) * Math.cos(2 * Math.PI * u2)
}

/** A standard normal draw from a uniform [0, 1) source (two draws per value). */
export function standardNormal(random: () => number): number {
  const u1 = 1 - random()
  return boxMuller(u1, random())
}
