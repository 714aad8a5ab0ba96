// Resolves credentials the way an application on the AWS SDK for JavaScript v3 does on EC2: fromInstanceMetadata,
// endpoint from AWS_EC2_METADATA_SERVICE_ENDPOINT; or, with the argument "container", as on EKS Pod Identity:
// fromHttp, which reads AWS_CONTAINER_CREDENTIALS_FULL_URI and the token in AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
// (on every fetch). Prints key=value lines (never the secret itself).
import { createHash } from "node:crypto";
import { fromHttp, fromInstanceMetadata } from "@aws-sdk/credential-providers";

const provider = process.argv[2] === "container" ? fromHttp : fromInstanceMetadata;
try {
  const credentials = await provider({ timeout: 5000, maxRetries: 1 })();
  console.log(`access_key_id=${credentials.accessKeyId}`);
  console.log(`has_token=${Boolean(credentials.sessionToken)}`);
  console.log(`secret_sha256_16=${createHash("sha256").update(credentials.secretAccessKey).digest("hex").slice(0, 16)}`);
  console.log(`account_id=${credentials.accountId ?? ""}`);
  console.log(`expiration=${credentials.expiration?.toISOString() ?? ""}`);
} catch (error) {
  console.error(`no credentials: ${error?.name}: ${error?.message}`);
  process.exit(3);
}
