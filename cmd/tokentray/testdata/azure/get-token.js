// Gets a token for the scope in argv[2] with the Azure SDK for JavaScript's
// DefaultAzureCredential, which reads IDENTITY_ENDPOINT and IDENTITY_HEADER,
// and prints {"token", "expiresOnTimestamp", "ms"} as one line of JSON (ms:
// how long getToken took). A failure goes to stderr with exit 1.
const { DefaultAzureCredential } = require("@azure/identity");

(async () => {
  const cred = new DefaultAzureCredential();
  const start = process.hrtime.bigint();
  const t = await cred.getToken(process.argv[2]);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  process.stdout.write(JSON.stringify({ token: t.token, expiresOnTimestamp: t.expiresOnTimestamp, ms }) + "\n");
})().catch((e) => {
  process.stderr.write(String((e && e.message) || e) + "\n");
  process.exit(1);
});
