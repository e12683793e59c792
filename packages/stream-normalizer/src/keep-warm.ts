/**
 * Keeps the last few objects a per-flow factory made reachable, so V8 keeps the optimized code of
 * their closures.
 *
 * Why: objects made per flow (a normalizer and its adapter, a view's event and tool-call
 * renderers) are closures, new for each flow but sharing one function's code. V8 holds that
 * function's optimized code only weakly once compiled: while some live closure has it installed.
 * When every flow that ran it has ended and been collected, a full GC drops the code, the next
 * flows run the hot paths unoptimized until they are hot again, and the optimizing compiler
 * compiles them once more. Replaying the monitor's 100 MiB bench capture, the Anthropic and
 * Responses `fast` paths were each compiled three times. Holding the last few objects of each
 * factory (a handful of finished flows' state: bounded) keeps one closure with the code alive.
 *
 * @example
 * ```ts
 * const warm = keepWarm<Adapter>()
 * const adapter = warm(createAnthropicAdapter(ctx))
 * ```
 */
export function keepWarm<T>(max = 8): (made: T) => T {
  const ring: (T | undefined)[] = new Array<T | undefined>(max).fill(undefined)
  let next = 0
  return (made: T): T => {
    ring[next] = made
    next = next + 1 === max ? 0 : next + 1
    return made
  }
}
