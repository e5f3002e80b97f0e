/**
 * A minimal XML writer for the xdomea message: elements in the xdomea namespace (prefix `xdomea`),
 * text escaped. Text reaching it has passed the String.Latin check, which excludes every character
 * XML 1.0 forbids, so escaping the five markup characters is all that is left to do.
 */
export const XDOMEA_NS = 'urn:xoev-de:xdomea:schema:3.0.0';

export interface XmlElement {
  name: string;
  /** Elements declared form="unqualified" (the `code` of a code list value) carry no prefix. */
  unqualified?: boolean;
  attrs?: Record<string, string>;
  children: Array<XmlElement | string>;
}

/** Optional elements are passed as undefined (or false) and left out. */
export type Child = XmlElement | string | undefined | false;

export function el(name: string, ...children: Child[]): XmlElement {
  return { name, children: children.filter((c): c is XmlElement | string => c !== undefined && c !== false) };
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]};`);
}

/** The document with its XML declaration; the root declares the xdomea namespace. */
export function serializeDocument(root: XmlElement): string {
  const withNs: XmlElement = { ...root, attrs: { 'xmlns:xdomea': XDOMEA_NS, ...root.attrs } };
  return `<?xml version="1.0" encoding="UTF-8"?>\n${serialize(withNs, 0)}\n`;
}

function serialize(node: XmlElement, depth: number): string {
  const indent = '  '.repeat(depth);
  const tag = node.unqualified ? node.name : `xdomea:${node.name}`;
  const attrs = Object.entries(node.attrs ?? {})
    .map(([k, v]) => ` ${k}="${escapeXml(v)}"`)
    .join('');
  if (node.children.length === 0) return `${indent}<${tag}${attrs}/>`;
  if (node.children.every((c) => typeof c === 'string')) return `${indent}<${tag}${attrs}>${node.children.map((c) => escapeXml(c as string)).join('')}</${tag}>`;
  const inner = node.children.map((c) => (typeof c === 'string' ? `${indent}  ${escapeXml(c)}` : serialize(c, depth + 1))).join('\n');
  return `${indent}<${tag}${attrs}>\n${inner}\n${indent}</${tag}>`;
}
