// A small seeded random source: the same seed gives the same traffic, so a run can be
// repeated and several sites can be fed exactly the same visitors and calls.

/** sfc32 (Chris Doty-Humphrey's small fast counting generator), seeded through splitmix32. */
export function createRandom(seed) {
  let s = (typeof seed === 'number' ? seed : hashString(String(seed))) >>> 0;
  const splitmix = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  const next = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
  for (let i = 0; i < 12; i += 1) next();

  const rnd = {
    /** Uniform in [0, 1). */
    next,
    /** Uniform in [min, max). */
    uniform: (min, max) => min + (max - min) * next(),
    int: (min, maxInclusive) => min + Math.floor(next() * (maxInclusive - min + 1)),
    chance: (p) => next() < p,
    pick: (list) => list[Math.floor(next() * list.length)],
    /** An item of [[item, weight], ...] with probability proportional to its weight. */
    weighted(entries) {
      const total = entries.reduce((sum, [, w]) => sum + w, 0);
      let x = next() * total;
      for (const [item, w] of entries) {
        x -= w;
        if (x < 0) return item;
      }
      return entries[entries.length - 1][0];
    },
    exponential: (mean) => -mean * Math.log(1 - next()),
    /** Log-normal with the given median and the sigma of the underlying normal. */
    logNormal: (median, sigma) => median * Math.exp(sigma * gaussian()),
    /** A child generator with its own stream (adding a person does not shift the others' draws). */
    fork: (label) => createRandom(hashString(`${label}:${Math.floor(next() * 2 ** 32)}`)),
  };
  function gaussian() {
    const u = 1 - next();
    const v = next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return rnd;
}

/** FNV-1a, 32 bits. */
export function hashString(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
