import { Marked } from 'marked';
import sanitizeHtml from 'sanitize-html';
import { html, trusted, type Html } from './html.js';

const marked = new Marked({ gfm: true, breaks: true });

// What Markdown may produce, and nothing else: no script, no event handler attribute, no
// javascript: URL, no inline style, no frames.
const ALLOWED: sanitizeHtml.IOptions = {
  allowedTags: [
    ...sanitizeHtml.defaults.allowedTags.filter((tag) => tag !== 'iframe'),
    'img',
    'del',
    'input',
  ],
  allowedAttributes: {
    a: ['href', 'title'],
    img: ['src', 'alt', 'title'],
    input: ['type', 'checked', 'disabled', 'aria-label'],
    code: ['class'],
    th: ['align'],
    td: ['align'],
  },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: ['http', 'https'] },
  allowProtocolRelative: false,
  // Task-list boxes only: any other input would be a form field inside the page.
  exclusiveFilter: (frame) => frame.tag === 'input' && frame.attribs.type !== 'checkbox',
  transformTags: {
    // The note's title is the page's h1: Markdown headings start one level below it.
    h1: 'h2',
    h2: 'h3',
    h3: 'h4',
    h4: 'h5',
    h5: 'h6',
    input: sanitizeHtml.simpleTransform('input', { disabled: '', 'aria-label': 'task done' }, true),
    // Links leave the page without telling it who they are.
    a: sanitizeHtml.simpleTransform('a', { rel: 'noopener noreferrer nofollow' }, true),
  },
};
ALLOWED.allowedAttributes = {
  ...(ALLOWED.allowedAttributes as Record<string, string[]>),
  a: ['href', 'title', 'rel'],
};

/** A note's Markdown as HTML that is safe to put in a page. */
export function renderMarkdown(source: string): Html {
  let raw: string;
  try {
    raw = marked.parse(source, { async: false });
  } catch (error) {
    // marked parses nested blocks by recursion: a few thousand `>` or list markers overflow the
    // stack. Such a note is still shown, as the text it is.
    if (!(error instanceof RangeError)) throw error;
    return html`<pre class="plain">${source}</pre>`;
  }
  return trusted(sanitizeHtml(raw, ALLOWED));
}
