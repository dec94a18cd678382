package claudecode

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// elicitServerEnv, set in its environment, makes the test binary an MCP
// server on stdio (see serveElicitation) instead of running tests.
const elicitServerEnv = "CB_TEST_ELICIT_SERVER"

// serveElicitation serves one tool, ask_branch, which asks the user (an
// MCP elicitation) for a branch and answers with what came back, and one
// prompt, review.
func serveElicitation() int {
	srv := mcp.NewServer(&mcp.Implementation{Name: "cb-elicit-test", Version: "1"}, nil)
	srv.AddTool(&mcp.Tool{Name: "ask_branch", Description: "Ask the user for a branch.",
		InputSchema: json.RawMessage(`{"type":"object","properties":{}}`)},
		func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			// Protocol 2026-07-28 asks through the tool result (multi
			// round-trip, SEP-2322): the client answers the elicitation
			// and calls again with the response.
			resp, ok := req.Params.InputResponses["branch"]
			if !ok {
				return &mcp.CallToolResult{InputRequests: mcp.InputRequestMap{"branch": &mcp.ElicitParams{Message: "Which branch?",
					RequestedSchema: map[string]any{"type": "object", "properties": map[string]any{"branch": map[string]any{"type": "string"}}}}}}, nil
			}
			text := fmt.Sprintf("elicitation answer %T", resp)
			if res, ok := resp.(*mcp.ElicitResult); ok {
				b, _ := json.Marshal(res.Content)
				text = fmt.Sprintf("elicitation action=%s content=%s", res.Action, b)
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}, nil
		})
	srv.AddPrompt(&mcp.Prompt{Name: "review", Description: "Review the change."},
		func(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{{Role: "user",
				Content: &mcp.TextContent{Text: "Review the change from the MCP prompt."}}}}, nil
		})
	if err := srv.Run(context.Background(), &mcp.StdioTransport{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
