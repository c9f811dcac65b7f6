// The HTML shell of every test page: the import map {"imports": {"workbus": "/workbus/index.js"}},
// so that page code imports "workbus" as a user writes it, and one module script.

/** A page titled "workbus: <title>" whose body is the module script `code`. */
export function pageHtml(title, code) {
  return `<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>workbus: ${title}</title>
<script type="importmap">{ "imports": { "workbus": "/workbus/index.js" } }</script>
</head>
<body>
<script type="module">
${code}
</script>
</body>
</html>
`;
}
