/**
 * The peer: the official Voximplant Node SDK (@voximplant/apiclient-nodejs) making the same StartConference
 * call. The bench bundles this file with the same esbuild settings as the functions (so both load a bundle),
 * and can also load it as is (the SDK from node_modules). The SDK speaks HTTPS only ('https://' + host);
 * the child trusts the emulator's run-time certificate through NODE_EXTRA_CA_CERTS, like every other child.
 */
import * as sdk from '@voximplant/apiclient-nodejs';

// CommonJS with `exports.default`: Node's interop (and esbuild's in .mjs) puts module.exports on `default`.
const VoximplantApiClient = sdk.default?.default ?? sdk.default;

/** A client whose credentials file has been read (the SDK reads it asynchronously and calls onReady). */
export function createPeerClient({ credentialsPath, host }) {
  return new Promise((resolve) => {
    const client = new VoximplantApiClient({ pathToCredentials: credentialsPath, host });
    client.onReady = () => resolve(client);
  });
}

/** One StartConference; throws unless Voximplant answered result 1. */
export async function startConference(client, request) {
  const answer = await client.Scenarios.startConference(request);
  if (answer?.result !== 1)
    throw new Error(`official SDK: StartConference failed: ${JSON.stringify(answer).slice(0, 300)}`);
  return answer;
}
