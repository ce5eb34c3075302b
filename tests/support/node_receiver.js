// A webhook receiver built on the reference's Node.js snippet. Express's express.json() parses the
// body; here JSON.parse does the same, and verifyWebhook is the reference's function, unchanged.
const http = require("http");
const crypto = require("crypto");

function verifyWebhook(payload, signature, secret) {
  const expected = "sha256=" + crypto
    .createHmac("sha256", secret)
    .update(payload)
    .digest("hex");
  return crypto.timingSafeEqual(
    Buffer.from(signature),
    Buffer.from(expected)
  );
}

const [port, secret] = process.argv.slice(2);
http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    const signature = req.headers["x-botplot-signature"];
    let isValid = false;
    try {
      isValid = verifyWebhook(JSON.stringify(body), signature, secret);
    } catch (e) {
      isValid = false; // timingSafeEqual throws when lengths differ
    }
    process.stdout.write(JSON.stringify({ valid: isValid, event: req.headers["x-botplot-event"],
      delivery: req.headers["x-botplot-delivery"], restringified: JSON.stringify(body) }) + "\n");
    if (!isValid) { res.writeHead(401); res.end("Invalid signature"); return; }
    res.writeHead(200); res.end("OK");
  });
}).listen(Number(port), "127.0.0.1", () => process.stdout.write("listening\n"));
