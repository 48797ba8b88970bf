// Contrast of every visible text on the page, computed as WCAG 2.1 defines it: the text's
// colour over the background it is drawn on (backgrounds of the element and its ancestors
// composited, alpha included). Any CSS colour is read back through a canvas, so colour-mix()
// and color() values count like rgb(). Returns the texts below `min`, worst first.
const min = arguments[0];
const canvas = document.createElement('canvas');
canvas.width = canvas.height = 1;
const ctx = canvas.getContext('2d', { willReadFrequently: true });
function rgba(css) {
  ctx.clearRect(0, 0, 1, 1);
  ctx.fillStyle = '#000';
  ctx.fillStyle = css;
  ctx.fillRect(0, 0, 1, 1);
  const [r, g, b, a] = ctx.getImageData(0, 0, 1, 1).data;
  return [r, g, b, a / 255];
}
function over(top, bottom) {
  const a = top[3];
  return [0, 1, 2].map(i => top[i] * a + bottom[i] * (1 - a)).concat([1]);
}
function luminance(c) {
  const [r, g, b] = c.slice(0, 3).map(v => {
    v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function background(el) {
  const chain = [];
  for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
    const bg = rgba(getComputedStyle(e).backgroundColor);
    if (bg[3] > 0) chain.push(bg);
    if (bg[3] === 1) break;
  }
  let colour = [255, 255, 255, 1];
  for (const bg of chain.reverse()) colour = over(bg, colour);
  return colour;
}
function visible(el) {
  const style = getComputedStyle(el);
  if (style.visibility !== 'visible' || style.display === 'none') return false;
  const rect = el.getBoundingClientRect();
  if (rect.width < 2 || rect.height < 2) return false;
  // Clipped to nothing (screen-reader-only text) is not drawn.
  for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
    const s = getComputedStyle(e);
    if (s.display === 'none' || e.hidden) return false;
    if (s.clip === 'rect(0px, 0px, 0px, 0px)') return false;
  }
  return true;
}
const failures = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
const seen = new Set();
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  if (!node.textContent.trim()) continue;
  const el = node.parentElement;
  if (!el || seen.has(el) || ['SCRIPT', 'STYLE', 'TITLE', 'OPTION'].includes(el.tagName)) continue;
  if (el.closest('title')) continue;
  seen.add(el);
  if (!visible(el)) continue;
  const style = getComputedStyle(el);
  const inSvg = el instanceof SVGElement;
  const fg = rgba(inSvg ? style.fill : style.color);
  const bg = background(inSvg ? el.closest('svg') : el);
  const text = over(fg, bg);
  const [l1, l2] = [luminance(text), luminance(bg)].sort((a, b) => b - a);
  const ratio = (l1 + 0.05) / (l2 + 0.05);
  if (ratio < min) {
    failures.push({ ratio: Math.round(ratio * 100) / 100, tag: el.tagName.toLowerCase(),
      text: node.textContent.trim().slice(0, 60), color: style.color, fill: style.fill,
      background: 'rgb(' + bg.slice(0, 3).join(',') + ')' });
  }
}
// A form field's border against what surrounds it: 3:1 or more (WCAG 2.1's non-text
// contrast), so that a box to type in is seen as one.
for (const el of document.querySelectorAll('input, select, textarea')) {
  if (['hidden', 'radio', 'checkbox'].includes(el.type) || !visible(el)) continue;
  const style = getComputedStyle(el);
  if (parseFloat(style.borderTopWidth) === 0 || style.borderTopStyle === 'none') continue;
  const bg = background(el.parentElement);
  const border = over(rgba(style.borderTopColor), bg);
  const [l1, l2] = [luminance(border), luminance(bg)].sort((a, b) => b - a);
  const ratio = (l1 + 0.05) / (l2 + 0.05);
  if (ratio < Math.min(3, min)) {
    failures.push({ ratio: Math.round(ratio * 100) / 100, tag: el.tagName.toLowerCase(),
      text: 'the border of ' + (el.name || el.type), color: style.borderTopColor,
      background: 'rgb(' + bg.slice(0, 3).join(',') + ')' });
  }
}
failures.sort((a, b) => a.ratio - b.ratio);
return failures;
