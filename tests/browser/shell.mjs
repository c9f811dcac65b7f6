// The HTML shell of every test page: the import map {"imports": {"workbus": "/workbus/index.js",
// "workbus/wire": "/workbus/wire.js", …}}, so that page code imports "workbus" and its subpaths
// as a user writes them, and one module script.

/** A page titled "workbus: <title>" whose body is the module script `code`. */
export function pageHtml(title, code) {
  return `<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>workbus: ${title}</title>
<script type="importmap">{ "imports": { "workbus": "/workbus/index.js", "workbus/wire": "/workbus/wire.js", "workbus/redis": "/workbus/redis.js", "workbus/pgmq": "/workbus/pgmq.js", "workbus/websocket": "/workbus/websocket.js" } }</script>
</head>
<body>
<script type="module">
${code}
</script>
</body>
</html>
`;
}
