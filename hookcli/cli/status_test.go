package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestStatusGolden(t *testing.T) {
	var h healthResult
	var m metricsResult
	loadFixture(t, "status_health.json", &h)
	loadFixture(t, "status_metrics.json", &m)
	var down healthResult
	if err := json.Unmarshal([]byte(`{"status":"unhealthy","instances":[],"redis":{"status":"error: dial unix /run/x: connect: no such file or directory"},"store":{"status":"not configured"}}`), &down); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		h    healthResult
		m    metricsResult
		pal  palette
	}{
		{"status.txt", h, m, palette{}},
		{"status_color.txt", h, m, palette{on: true}},
		{"status_down.txt", down, metricsResult{}, palette{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := renderStatus(&buf, c.h, c.m, goldenNow, c.pal); err != nil {
				t.Fatal(err)
			}
			goldenCompare(t, c.name, buf.Bytes())
		})
	}
}

func TestStatusCommand(t *testing.T) {
	health := string(loadFixture(t, "status_health.json", nil))
	metrics := string(loadFixture(t, "status_metrics.json", nil))
	newTaskFake(t, map[string]func(json.RawMessage) (json.RawMessage, error){
		"system.health":  answer(health),
		"system.metrics": answer(metrics),
	})
	out, errOut, code := runTaskCLI("status")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"status    degraded", "redis     ok (managed)", "queue     3 queued", "cbd-laptop", "worker-gone  unhealthy  "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	out, errOut, code = runTaskCLI("status", "--json")
	if code != 0 {
		t.Fatalf("--json: exit %d, stderr %q", code, errOut)
	}
	var got struct {
		Health  healthResult  `json:"health"`
		Metrics metricsResult `json:"metrics"`
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
	newTaskFake(t, nil) // Redis, but no cbd ever registered a method
	_, errOut, code := runTaskCLI("status")
	if code != 3 || !strings.Contains(errOut, "unknown method system.") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}
