/** mulberry32: the seeded PRNG of the tests and the fixture generator (see prng.js). Numbers in [0, 1). */
export declare function prng(seed: number): () => number
