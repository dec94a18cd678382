// A client of cbd's MCP server built on the official TypeScript SDK
// (@modelcontextprotocol/sdk), run by e2e/mcpsdk_test.go. It connects, lists
// the tools, calls task_create, lists and reads the resources and resource
// templates (the queue, the task it made, an unknown task, the timeline of
// a session it made a task in), lists and gets
// the prompts, subscribes to cb://queue where the server offers that (cbd's
// /mcp) until a task change is notified, and prints one JSON line with what
// it saw.
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
const { ResourceUpdatedNotificationSchema } = require('@modelcontextprotocol/sdk/types.js');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// subscribeQueue subscribes to cb://queue and makes tasks (priority 0, so
// they queue behind everything else) until the server says the queue
// changed: the URI it named, or null if it never did.
async function subscribeQueue(client) {
  const notified = new Promise((resolve) => {
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => resolve(n.params.uri));
  });
  await client.subscribeResource({ uri: 'cb://queue' });
  for (let i = 0; i < 20; i++) {
    await client.callTool({ name: 'task_create', arguments: { text: 'subscription poke ' + i, priority: 0 } });
    const uri = await Promise.race([notified, sleep(500).then(() => null)]);
    if (uri !== null) {
      return uri;
    }
  }
  return null;
}

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
  const id = created.structuredContent && created.structuredContent.id;
  const { resources } = await client.listResources();
  const { resourceTemplates } = await client.listResourceTemplates();
  const queue = await client.readResource({ uri: 'cb://queue' });
  const task = await client.readResource({ uri: 'cb://tasks/' + id });
  let missing;
  try {
    await client.readResource({ uri: 'cb://tasks/t-1' });
    missing = { error: null };
  } catch (err) {
    missing = { code: err.code, message: err.message };
  }
  const sessionId = 'ts-sdk-' + mode;
  await client.callTool({ name: 'task_create', arguments: { text: 'made in session ' + sessionId, priority: 0, metadata: { sessionId } } });
  const session = await client.readResource({ uri: 'cb://sessions/' + sessionId });
  const { prompts } = await client.listPrompts();
  const take = await client.getPrompt({ name: 'take_next_task', arguments: { workerId: 'ts-sdk' } });
  const hand = await client.getPrompt({ name: 'hand_over_task', arguments: { taskId: id, notes: 'handed over by the TypeScript SDK' } });
  const capabilities = client.getServerCapabilities();
  const updated = capabilities.resources && capabilities.resources.subscribe ? await subscribeQueue(client) : null;
  await client.close();
  process.stdout.write(JSON.stringify({
    server,
    capabilities,
    tools: tools.map((t) => t.name),
    created: { isError: created.isError === true, structured: created.structuredContent, content: created.content },
    resources: resources.map((r) => r.uri),
    templates: resourceTemplates.map((t) => t.uriTemplate),
    queue: queue.contents,
    task: task.contents,
    missing,
    session: session.contents,
    prompts: prompts.map((p) => ({ name: p.name, arguments: (p.arguments || []).map((a) => a.name + (a.required ? '!' : '')) })),
    take: take.messages,
    hand: hand.messages,
    updated,
  }) + '\n');
}

main().catch((err) => {
  process.stderr.write('mcp sdk client: ' + (err && err.stack ? err.stack : String(err)) + '\n');
  process.exit(1);
});
