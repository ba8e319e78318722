// Small DOM helpers shared by the pages: values always go in as properties (textContent), never as markup.

export const $ = (id) => document.getElementById(id);

export function element(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  node.append(...children);
  return node;
}
