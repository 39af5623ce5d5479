import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeHtml, html, raw } from '../../src/dashboard/index.js';

test('html escapes every interpolated value and keeps Html as it is', () => {
  const hostile = `<script>x</script>"'\`&`;
  assert.equal(escapeHtml(hostile), '&lt;script&gt;x&lt;/script&gt;&quot;&#39;&#96;&amp;');
  assert.equal(
    html`<p title="${hostile}">${hostile}${raw('<b>ok</b>')}</p>`.text,
    `<p title="${escapeHtml(hostile)}">${escapeHtml(hostile)}<b>ok</b></p>`,
  );
  assert.equal(html`${[1, html`<i>${'<'}</i>`, null, undefined, false]}`.text, '1<i>&lt;</i>');
});
