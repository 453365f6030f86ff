// A tiny dynamic app: answers on PORT, says which version and instance served the request.
const http = require('node:http');

const port = Number(process.env.PORT || 3000);
http
  .createServer((req, res) => {
    if (req.url === '/health') return res.end('ok');
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.end(`Hello from v${process.env.SLIPWAY_VERSION_NUMBER} (${process.env.SLIPWAY_RUNTIME_INSTANCE_ID})\n`);
  })
  .listen(port, () => console.log(`listening on ${port}`));
