package status

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/claudebench/cb/hookcli/cli/internal/clitest"
	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/claudebench/cb/protocol/api"
)

func TestStatusGolden(t *testing.T) {
	var h api.HealthResult
	var m api.MetricsResult
	clitest.LoadFixture(t, "status_health.json", &h)
	clitest.LoadFixture(t, "status_metrics.json", &m)
	var down api.HealthResult
	if err := json.Unmarshal([]byte(`{"status":"unhealthy","instances":[],"redis":{"status":"error: dial unix /run/x: connect: no such file or directory"},"store":{"status":"not configured"}}`), &down); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		h    api.HealthResult
		m    api.MetricsResult
		pal  iostreams.ColorScheme
	}{
		{"status.txt", h, m, iostreams.ColorScheme{}},
		{"status_color.txt", h, m, iostreams.NewColorScheme(true)},
		{"status_down.txt", down, api.MetricsResult{}, iostreams.ColorScheme{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clitest.GoldenRender(t, c.name, func(w io.Writer) error {
				return renderStatus(w, c.h, c.m, clitest.GoldenNow, c.pal)
			})
		})
	}
}

func TestStatusCommand(t *testing.T) {
	health := string(clitest.LoadFixture(t, "status_health.json", nil))
	metrics := string(clitest.LoadFixture(t, "status_metrics.json", nil))
	run := func(args ...string) (string, string, int) {
		fake := clitest.NewFakeCaller(map[string]clitest.Handler{
			"system.health":  clitest.Answer(health),
			"system.metrics": clitest.Answer(metrics),
		})
		f, _, s := clitest.NewFactory(fake)
		code := clitest.Run(f, NewCmdStatus(f, nil), args...)
		return s.Out.String(), s.Err.String(), code
	}
	out, errOut, code := run("status")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"status    degraded", "redis     ok (managed)", "queue     3 queued", "cbd-laptop", "worker-gone  unhealthy  "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	out, errOut, code = run("status", "--json")
	if code != 0 {
		t.Fatalf("--json: exit %d, stderr %q", code, errOut)
	}
	var got struct {
		Health  api.HealthResult  `json:"health"`
		Metrics api.MetricsResult `json:"metrics"`
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("--json output does not decode: %v\n%s", err, out)
	}
	if got.Health.Status != "degraded" || len(got.Health.Instances) != 3 || got.Metrics.EventsProcessed != 1234 ||
		got.Metrics.Handlers["hook.pre_tool"].Calls != 1200 || got.Metrics.TasksByStatus["pending"] != 3 {
		t.Errorf("decoded = %+v", got)
	}
	// Each part is the answer as received.
	var raw statusJSON
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatal(err)
	}
	for name, pair := range map[string][2]string{"health": {string(raw.Health), health}, "metrics": {string(raw.Metrics), metrics}} {
		var a, b bytes.Buffer
		_ = json.Compact(&a, []byte(pair[0]))
		_ = json.Compact(&b, []byte(pair[1]))
		if a.String() != b.String() {
			t.Errorf("%s = %s, want %s", name, a.String(), b.String())
		}
	}
}

func TestStatusNoDaemon(t *testing.T) {
	f, _, s := clitest.NewFactory(clitest.NewFakeCaller(nil)) // no cbd ever registered a method
	code := clitest.Run(f, NewCmdStatus(f, nil), "status")
	errOut := s.Err.String()
	if code != 3 || !strings.Contains(errOut, "unknown method system.") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}
