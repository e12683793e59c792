/** The page's two DOM helpers: every captured string becomes a text node, never HTML. */

export type Child = Node | string | number | null | undefined | false
export type Attrs = Record<string, string | number | boolean | undefined | ((ev: Event) => void)>

/** Builds an element. Strings become text nodes; attributes go through setAttribute. */
export function h(tag: string, attrs: Attrs | null = null, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag)
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === false) continue
      if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v)
      else el.setAttribute(k, v === true ? '' : String(v))
    }
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c)
  }
  return el
}

export const $ = (id: string): HTMLElement => document.getElementById(id) as HTMLElement

