package claudecode

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	goredis "github.com/redis/go-redis/v9"
)

// clientTimeout bounds one headless client run.
const clientTimeout = 60 * time.Second

// rig is one isolated Claude Code user: a home with Claude Code's config
// dir, cb's XDG dirs pointing at a cbd on its own redis-server, and a
// project directory the session runs in.
type rig struct {
	t       *testing.T
	claude  string
	h       *testenv.Home
	redis   *testenv.Redis
	d       *testenv.Daemon
	project string
	config  string // CLAUDE_CONFIG_DIR
	// stdin, when set, is the client's standard input (user messages
	// for --input-format stream-json).
	stdin string
}

// newRig starts a cbd with config (YAML) for one test and installs cb's
// hooks with `cb install installArgs...`. env is more environment for cbd,
// cb and the client.
func newRig(t *testing.T, config string, env []string, installArgs ...string) *rig {
	t.Helper()
	claude := needClient(t)
	// A redis-server per rig: cbd instances on one Redis share the hook
	// streams, and each test has its own rules.
	rs := testenv.NewRedis(t)
	h := testenv.NewHome(t, append([]string{"CB_REDIS_URL=" + rs.URL(),
		// Generous for a loaded 2-core machine, and below the 10 s timeout
		// cb install writes into the settings.
		"CB_HOOK_TIMEOUT=8s"}, env...)...)
	home := filepath.Join(h.Dir, "home")
	r := &rig{t: t, claude: claude, h: h, redis: rs, project: filepath.Join(h.Dir, "project"), config: filepath.Join(home, ".claude")}
	for _, d := range []string{r.project, r.config} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	h.Env = append(h.Env, "CLAUDE_CONFIG_DIR="+r.config)
	if config != "" {
		h.WriteConfig(t, config)
	}
	r.d = testenv.StartDaemon(t, bin, h, []string{"CB_INSTANCE_ID=" + strings.ReplaceAll(t.Name(), "/", "-")})
	res := r.cb(nil, append([]string{"install"}, installArgs...)...)
	if res.Code != 0 {
		t.Fatalf("cb install %v: exit %d\n%s%s", installArgs, res.Code, res.Stdout, res.Stderr)
	}
	return r
}

// cb runs cb (cb-cli for everything but `cb hook`) in the rig's environment.
func (r *rig) cb(stdin []byte, args ...string) testenv.Result {
	r.t.Helper()
	return testenv.RunCB(r.t, bin, r.h, nil, stdin, args...)
}

// cbJSON runs cb with args (a command given --json) and decodes its output
// into out; a failed command fails the test.
func (r *rig) cbJSON(out any, args ...string) {
	r.t.Helper()
	res := r.cb(nil, args...)
	if res.Code != 0 {
		r.t.Fatalf("cb %s: exit %d %s", strings.Join(args, " "), res.Code, res.Stderr)
	}
	if err := json.Unmarshal([]byte(res.Stdout), out); err != nil {
		r.t.Fatalf("cb %s: %v\n%s", strings.Join(args, " "), err, res.Stdout)
	}
}

// settings is the user settings file cb install wrote, parsed.
func (r *rig) settings() map[string]any {
	r.t.Helper()
	return readJSONObject(r.t, filepath.Join(r.config, "settings.json"))
}

// readJSONObject reads the JSON object in the file at path.
func readJSONObject(t testing.TB, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, b)
	}
	return m
}

// clientRun is one finished headless run of the client.
type clientRun struct {
	Code     int
	Stdout   string
	Stderr   string
	Elapsed  time.Duration
	Messages []map[string]any // stdout's stream-json lines
	Debug    string           // the --debug-file
}

// result is the final "result" message of the run (nil if none).
func (c *clientRun) result() map[string]any {
	for i := len(c.Messages) - 1; i >= 0; i-- {
		if c.Messages[i]["type"] == "result" {
			return c.Messages[i]
		}
	}
	return nil
}

// finished fails the test unless the client exited 0 with a final result
// message whose fields named in want have the values given.
func (c *clientRun) finished(t *testing.T, want map[string]any) {
	t.Helper()
	res := c.result()
	ok := c.Code == 0 && res != nil
	for k, v := range want {
		ok = ok && res[k] == v
	}
	if !ok {
		t.Fatalf("client exit %d, result %v", c.Code, res)
	}
}

// init is the run's system/init message (nil if none).
func (c *clientRun) init() map[string]any {
	for _, m := range c.Messages {
		if m["type"] == "system" && m["subtype"] == "init" {
			return m
		}
	}
	return nil
}

// sessionID is the session id the client reported.
func (c *clientRun) sessionID() string {
	if m := c.init(); m != nil {
		s, _ := m["session_id"].(string)
		return s
	}
	return ""
}

// claudeEnv is the client's environment besides the rig's: the fake API,
// a dummy key, and nothing that calls home.
func claudeEnv(apiURL string) []string {
	return []string{
		"ANTHROPIC_BASE_URL=" + apiURL,
		"ANTHROPIC_API_KEY=sk-ant-api03-claudebench-test-dummy",
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
		"DISABLE_TELEMETRY=1",
		"DISABLE_AUTOUPDATER=1",
		"DISABLE_ERROR_REPORTING=1",
		"DISABLE_BUG_COMMAND=1",
		"CLAUDE_CODE_DISABLE_TERMINAL_TITLE=1",
		"TERM=dumb",
	}
}

// runClient runs `claude -p prompt` headless against api, in the project
// directory, with args added (e.g. --permission-mode). The debug log is
// kept and logged when the test fails.
func (r *rig) runClient(api *fakeAPI, prompt string, args ...string) *clientRun {
	r.t.Helper()
	debug := filepath.Join(r.h.Dir, "claude-debug-"+strings.ReplaceAll(r.t.Name(), "/", "-")+".log")
	argv := append([]string{"-p", prompt, "--output-format", "stream-json", "--verbose",
		"--debug-file", debug, "--model", "claude-sonnet-4-5"}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.claude, argv...)
	cmd.Dir = r.project
	cmd.Env = append(append([]string{}, r.h.Env...), claudeEnv(api.URL())...)
	cmd.WaitDelay = 5 * time.Second
	if r.stdin != "" {
		cmd.Stdin = strings.NewReader(r.stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	run := &clientRun{Stdout: out.String(), Stderr: errb.String(), Elapsed: time.Since(start)}
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			run.Code = ee.ExitCode()
		} else {
			r.t.Fatalf("run claude: %v", err)
		}
	}
	if ctx.Err() != nil {
		run.Code = -1
	}
	if b, err := os.ReadFile(debug); err == nil {
		run.Debug = string(b)
	}
	sc := bufio.NewScanner(strings.NewReader(run.Stdout))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			run.Messages = append(run.Messages, m)
		}
	}
	r.t.Cleanup(func() {
		if !r.t.Failed() {
			return
		}
		// The rig's directory goes at the end of the test: keep the
		// client's debug log where it can be read afterwards.
		kept := filepath.Join(os.TempDir(), "cb-"+filepath.Base(debug))
		if err := os.WriteFile(kept, []byte(run.Debug), 0o600); err != nil {
			kept = err.Error()
		}
		r.t.Logf("claude %v: exit %d in %v\nstdout:\n%s\nstderr:\n%s\nfake API requests:\n%s\ndebug log (kept in %s), last lines:\n%s",
			args, run.Code, run.Elapsed, run.Stdout, run.Stderr, api.summary(), kept, tail(run.Debug, 200))
	})
	if run.Code == -1 {
		r.t.Fatalf("claude did not finish within %v", clientTimeout)
	}
	return run
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// hookInputs returns the hook inputs cb put on cb:stream:hook.<hookType>
// for session (all sessions when ""), oldest first.
func (r *rig) hookInputs(hookType, session string) []map[string]any {
	r.t.Helper()
	opt, err := goredis.ParseURL(r.redis.URL())
	if err != nil {
		r.t.Fatal(err)
	}
	rdb := goredis.NewClient(opt)
	defer rdb.Close()
	msgs, err := rdb.XRange(context.Background(), protocol.StreamKey(protocol.HookMethod(hookType)), "-", "+").Result()
	if err != nil {
		r.t.Fatalf("read the %s stream: %v", hookType, err)
	}
	var out []map[string]any
	for _, m := range msgs {
		s, _ := m.Values[protocol.StreamField].(string)
		ev, err := protocol.DecodeEvent([]byte(s))
		if err != nil {
			r.t.Fatalf("%s stream entry %s: %v", hookType, m.ID, err)
		}
		var in map[string]any
		if err := json.Unmarshal(ev.Payload, &in); err != nil {
			r.t.Fatalf("%s stream entry %s payload: %v", hookType, m.ID, err)
		}
		if session == "" || in["session_id"] == session {
			out = append(out, in)
		}
	}
	return out
}

// auditRecord is one entry of `cb audit --json`.
type auditRecord struct {
	SessionID string   `json:"sessionId"`
	Event     string   `json:"event"`
	Tool      string   `json:"tool"`
	Decision  string   `json:"decision"`
	RuleIDs   []string `json:"ruleIds"`
	Reason    string   `json:"reason"`
}

// audit returns the session's audited hook decisions, oldest first. The
// audit is written behind the answer, so it waits (up to 10 s) for at
// least min records.
func (r *rig) audit(session string, min int) []auditRecord {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var out struct{ Records []auditRecord }
		r.cbJSON(&out, "audit", "--json", "--session", session, "--limit", "1000")
		if len(out.Records) >= min || time.Now().After(deadline) {
			slices.Reverse(out.Records)
			return out.Records
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// task is one entry of `cb task list --json`.
type task struct {
	ID       string         `json:"id"`
	Text     string         `json:"text"`
	Status   string         `json:"status"`
	Priority int            `json:"priority"`
	Metadata map[string]any `json:"metadata"`
}

// tasks returns every task cb knows.
func (r *rig) tasks() []task {
	r.t.Helper()
	var out struct{ Tasks []task }
	r.cbJSON(&out, "task", "list", "--json")
	return out.Tasks
}

// toolResults maps tool_use_id to the tool_result the client reported in
// its stream-json output.
func (c *clientRun) toolResults() map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, m := range c.Messages {
		if m["type"] != "user" {
			continue
		}
		msg, _ := m["message"].(map[string]any)
		blocks, _ := msg["content"].([]any)
		for _, b := range blocks {
			if bm, ok := b.(map[string]any); ok && bm["type"] == "tool_result" {
				id, _ := bm["tool_use_id"].(string)
				out[id] = bm
			}
		}
	}
	return out
}

// debugLines returns the debug-log lines containing sub.
func (c *clientRun) debugLines(sub string) []string {
	var out []string
	for _, l := range strings.Split(c.Debug, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return out
}
