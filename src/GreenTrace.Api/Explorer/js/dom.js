// DOM building without innerHTML: every server-supplied string goes in as text, never as markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

function build(node, attrs, children) {
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function el(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

export function svg(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

const number = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat('en', { maximumFractionDigits: 2 });

/** Energy for people: Wh below 10 kWh, then kWh, then MWh. Takes Number or BigInt. */
export function energy(wh) {
  const n = Number(wh);
  if (Math.abs(n) < 10_000) return `${number.format(n)} Wh`;
  if (Math.abs(n) < 10_000_000) return `${decimal.format(n / 1000)} kWh`;
  return `${decimal.format(n / 1_000_000)} MWh`;
}

export function wh(n) {
  return `${number.format(Number(n))} Wh`;
}

/** Unix seconds as "2023-11-14 22:00 UTC". */
export function utc(seconds) {
  return new Date(Number(seconds) * 1000).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

export function hourLabel(seconds) {
  return new Date(Number(seconds) * 1000).toISOString().slice(11, 16);
}

export function dayLabel(seconds) {
  return new Date(Number(seconds) * 1000).toISOString().slice(0, 10);
}

export function short(id, n = 12) {
  return id && id.length > n + 1 ? `${id.slice(0, n)}…` : id;
}

export function link(href, text, attrs = {}) {
  return el('a', { href, ...attrs }, text);
}

export function facts(pairs) {
  return el('dl', { class: 'facts' }, pairs.filter(Boolean).map(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}
