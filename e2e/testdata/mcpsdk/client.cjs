// A client of cbd's MCP server built on the official TypeScript SDK
// (@modelcontextprotocol/sdk), run by e2e/mcpsdk_test.go. It connects, lists
// the tools, calls task_create and prints one JSON line with what it saw.
// Errors go to stderr with exit status 1.
//
//   node client.cjs http <endpoint> <token>   StreamableHTTPClientTransport
//   node client.cjs stdio <cb> [args...]      StdioClientTransport (cb mcp)
//
// The SDK is found through NODE_PATH (.ci/setup installs it).
'use strict';
const { Client } = require('@modelcontextprotocol/sdk/client/index.js');
const { StreamableHTTPClientTransport } = require('@modelcontextprotocol/sdk/client/streamableHttp.js');
const { StdioClientTransport } = require('@modelcontextprotocol/sdk/client/stdio.js');

async function main() {
  const [mode, ...rest] = process.argv.slice(2);
  let transport;
  if (mode === 'http') {
    const [endpoint, token] = rest;
    transport = new StreamableHTTPClientTransport(new URL(endpoint), {
      requestInit: { headers: { Authorization: 'Bearer ' + token } },
    });
  } else if (mode === 'stdio') {
    const [command, ...args] = rest;
    transport = new StdioClientTransport({ command, args, env: process.env, stderr: 'inherit' });
  } else {
    throw new Error('usage: client.cjs http <endpoint> <token> | stdio <command> [args...]');
  }
  const client = new Client({ name: 'cb-e2e-ts-sdk', version: '1' });
  await client.connect(transport);
  const server = client.getServerVersion();
  const { tools } = await client.listTools();
  const text = 'created by the TypeScript MCP SDK over ' + mode;
  // priority 50.0 reaches cbd as the JSON number 50 (JavaScript has no
  // integer type): the call must work whatever form the number takes.
  const created = await client.callTool({ name: 'task_create', arguments: { text, priority: 50.0 } });
  await client.close();
  process.stdout.write(JSON.stringify({
    server,
    tools: tools.map((t) => t.name),
    created: { isError: created.isError === true, structured: created.structuredContent, content: created.content },
  }) + '\n');
}

main().catch((err) => {
  process.stderr.write('mcp sdk client: ' + (err && err.stack ? err.stack : String(err)) + '\n');
  process.exit(1);
});
