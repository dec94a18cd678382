// Package protocol is the contract between cb, cb-cli and cbd, and the one
// package all of them link, so it imports only the standard library. It
// holds:
//
//   - the request envelope (Event, Metadata, Response), its encoding into a
//     stream entry, and its deadline;
//   - every Redis key name, built in keys.go and nowhere else;
//   - the steps of a correlated call every caller shares: the KEYS of
//     call.lua, its status and reply codes, waiting for and decoding the
//     answer;
//   - error codes and the typed Error every transport returns;
//   - the hook events, their fail modes, HookResult and its rendering for
//     Claude Code;
//   - the configuration keys with their defaults, and the directories;
//   - the MCP naming and schema rules shared by cbd and `cb mcp`;
//   - event ids and stream id ordering.
//
// The go-redis client that makes the calls is protocol/client, which only
// cb-cli and cbd link.
package protocol
