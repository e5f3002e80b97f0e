/** Builds elements from data as text only: there is no path from a value to HTML (no innerHTML anywhere). */
type Child = Node | string | number | false | null | undefined;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | boolean | undefined> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    el.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children) if (child !== false && child !== null && child !== undefined) el.append(typeof child === 'number' ? String(child) : child);
  return el;
}

export const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** Replaces the screen's content and moves focus to its heading, so keyboard and screen reader users follow. */
export function show(...children: Node[]): void {
  const main = $('view');
  main.replaceChildren(...children);
  main.querySelector<HTMLElement>('h1')?.focus();
}
