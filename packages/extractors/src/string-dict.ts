/**
 * A dictionary of strings built as they are met: `id(s)` is `s`'s number in `dict`, a new string
 * getting the next one. The column formats of the usage summary and of the wire facts store
 * repeated strings this way.
 */
export function stringDict(): { dict: string[]; id: (s: string) => number } {
  const dict: string[] = []
  const ids = new Map<string, number>()
  return {
    dict,
    id(s: string): number {
      let n = ids.get(s)
      if (n === undefined) {
        n = dict.length
        dict.push(s)
        ids.set(s, n)
      }
      return n
    },
  }
}
