package api_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/claudebench/cb/protocol/api"
	"github.com/claudebench/cb/schemas"
)

// contract pairs every method with its params and result types.
var contract = map[string]struct{ params, result any }{
	"audit.list": {api.AuditListParams{}, api.AuditListResult{}},

	"hook.notification":          {api.NotificationInput{}, api.HookResult{}},
	"hook.post_tool":             {api.PostToolInput{}, api.HookResult{}},
	"hook.pre_compact":           {api.PreCompactInput{}, api.HookResult{}},
	"hook.pre_tool":              {api.ToolEvent{}, api.HookResult{}},
	"hook.session_end":           {api.SessionEndInput{}, api.HookResult{}},
	"hook.session_start":         {api.SessionStartInput{}, api.HookResult{}},
	"hook.stop":                  {api.StopInput{}, api.HookResult{}},
	"hook.subagent_stop":         {api.SubagentStopInput{}, api.HookResult{}},
	"hook.todo_write":            {api.PostToolInput{}, api.HookResult{}},
	"hook.user_prompt":           {api.UserPromptInput{}, api.HookResult{}},
	"hook.post_tool_use_failure": {api.PostToolUseFailureInput{}, api.HookResult{}},
	"hook.post_tool_batch":       {api.PostToolBatchInput{}, api.HookResult{}},
	"hook.user_prompt_expansion": {api.UserPromptExpansionInput{}, api.HookResult{}},
	"hook.stop_failure":          {api.StopFailureInput{}, api.HookResult{}},
	"hook.subagent_start":        {api.SubagentStartInput{}, api.HookResult{}},
	"hook.post_compact":          {api.CompactInput{}, api.HookResult{}},
	"hook.pre_model_switch":      {api.ModelSwitchInput{}, api.HookResult{}},
	"hook.post_model_switch":     {api.ModelSwitchInput{}, api.HookResult{}},
	"hook.permission_request":    {api.PermissionRequestInput{}, api.HookResult{}},
	"hook.permission_denied":     {api.PermissionDeniedInput{}, api.HookResult{}},
	"hook.setup":                 {api.SetupInput{}, api.HookResult{}},
	"hook.teammate_idle":         {api.TeammateIdleInput{}, api.HookResult{}},
	"hook.task_created":          {api.TaskEventInput{}, api.HookResult{}},
	"hook.task_completed":        {api.TaskEventInput{}, api.HookResult{}},
	"hook.elicitation":           {api.ElicitationInput{}, api.HookResult{}},
	"hook.elicitation_result":    {api.ElicitationResultInput{}, api.HookResult{}},
	"hook.config_change":         {api.ConfigChangeInput{}, api.HookResult{}},
	"hook.worktree_create":       {api.WorktreeCreateInput{}, api.HookResult{}},
	"hook.worktree_remove":       {api.WorktreeRemoveInput{}, api.HookResult{}},
	"hook.instructions_loaded":   {api.InstructionsLoadedInput{}, api.HookResult{}},
	"hook.cwd_changed":           {api.CwdChangedInput{}, api.HookResult{}},
	"hook.file_changed":          {api.FileChangedInput{}, api.HookResult{}},
	"hook.directory_added":       {api.DirectoryAddedInput{}, api.HookResult{}},
	"hook.message_display":       {api.MessageDisplayInput{}, api.HookResult{}},
	"hook.other":                 {api.HookCommon{}, api.HookResult{}},

	"hooks.add":     {api.HooksAddParams{}, api.HooksAddResult{}},
	"hooks.disable": {api.RuleIDParams{}, api.HooksDisableResult{}},
	"hooks.enable":  {api.RuleIDParams{}, api.HooksEnableResult{}},
	"hooks.list":    {api.NoParams{}, api.HooksListResult{}},
	"hooks.remove":  {api.RuleIDParams{}, api.HooksRemoveResult{}},
	"hooks.test":    {api.HooksTestParams{}, api.HooksTestResult{}},

	"system.discover":   {api.NoParams{}, api.DiscoverResult{}},
	"system.get_state":  {api.NoParams{}, api.StateResult{}},
	"system.health":     {api.NoParams{}, api.HealthResult{}},
	"system.heartbeat":  {api.InstanceParams{}, api.HeartbeatResult{}},
	"system.metrics":    {api.NoParams{}, api.MetricsResult{}},
	"system.register":   {api.RegisterParams{}, api.RegisterResult{}},
	"system.unregister": {api.InstanceParams{}, api.UnregisterResult{}},
	"system.version":    {api.NoParams{}, api.VersionResult{}},

	"task.assign":      {api.TaskAssignParams{}, api.Task{}},
	"task.claim":       {api.TaskClaimParams{}, api.TaskClaimResult{}},
	"task.complete":    {api.TaskCompleteParams{}, api.Task{}},
	"task.create":      {api.TaskCreateParams{}, api.Task{}},
	"task.delete":      {api.TaskDeleteParams{}, api.TaskDeleteResult{}},
	"task.fail":        {api.TaskFailParams{}, api.Task{}},
	"task.get":         {api.TaskGetParams{}, api.Task{}},
	"task.attach":      {api.TaskAttachParams{}, api.Attachment{}},
	"task.attachments": {api.TaskAttachmentsParams{}, api.TaskAttachmentsResult{}},
	"task.list":        {api.TaskListParams{}, api.TaskListResult{}},
	"task.renew":       {api.TaskRenewParams{}, api.Task{}},
	"task.unassign":    {api.TaskUnassignParams{}, api.Task{}},
	"task.update":      {api.TaskUpdateParams{}, api.Task{}},
	"task.work":        {api.TaskWorkParams{}, api.TaskWorkResult{}},
}

// TestContractMatchesSchemas fails when a method's schema and its Go types
// disagree: a property added, removed or renamed on one side, a required
// property that Go may leave out (or an always-sent one the schema does not
// require), or a JSON type that differs.
func TestContractMatchesSchemas(t *testing.T) {
	names, err := schemas.Methods()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if _, ok := contract[n]; !ok {
			t.Errorf("%s has a schema but no Go types in the contract", n)
		}
	}
	for n, pair := range contract {
		if !slices.Contains(names, n) {
			t.Errorf("%s has Go types but no schema", n)
			continue
		}
		m, err := schemas.Resolved(n)
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range []struct {
			name   string
			schema json.RawMessage
			v      any
		}{{"input", m.Input, pair.params}, {"output", m.Output, pair.result}} {
			var doc any
			if err := json.Unmarshal(part.schema, &doc); err != nil {
				t.Fatalf("%s %s: %v", n, part.name, err)
			}
			for _, p := range diff(n+" "+part.name, doc, reflect.TypeOf(part.v)) {
				t.Error(p)
			}
		}
	}
}

// TestDiffFindsDrift checks the checker: each kind of drift is reported.
func TestDiffFindsDrift(t *testing.T) {
	schema := `{"type":"object","required":["a","n"],"properties":{
		"a":{"type":"string"},"n":{"type":"integer"},"l":{"type":"array","items":{"type":"string"}},
		"o":{"type":"object","properties":{"x":{"type":"boolean"}}}}}`
	var doc any
	if err := json.Unmarshal([]byte(schema), &doc); err != nil {
		t.Fatal(err)
	}
	type inner struct {
		X bool `json:"x,omitempty"`
	}
	type good struct {
		A string   `json:"a"`
		N int      `json:"n"`
		L []string `json:"l,omitempty"`
		O *inner   `json:"o,omitempty"`
	}
	if p := diff("good", doc, reflect.TypeOf(good{})); len(p) > 0 {
		t.Errorf("good: %v", p)
	}
	for _, c := range []struct {
		name string
		typ  any
		want string
	}{
		{"renamed", struct {
			B string   `json:"b"`
			N int      `json:"n"`
			L []string `json:"l,omitempty"`
			O *inner   `json:"o,omitempty"`
		}{}, `"a" is in the schema`},
		{"optional", struct {
			A string   `json:"a,omitempty"`
			N int      `json:"n"`
			L []string `json:"l,omitempty"`
			O *inner   `json:"o,omitempty"`
		}{}, `"a" is required`},
		{"always sent", struct {
			A string   `json:"a"`
			N int      `json:"n"`
			L []string `json:"l"`
			O *inner   `json:"o,omitempty"`
		}{}, `"l" is always sent`},
		{"type", struct {
			A string   `json:"a"`
			N float64  `json:"n"`
			L []string `json:"l,omitempty"`
			O *inner   `json:"o,omitempty"`
		}{}, `.n: schema type integer, Go float64`},
		{"item type", struct {
			A string `json:"a"`
			N int    `json:"n"`
			L []int  `json:"l,omitempty"`
			O *inner `json:"o,omitempty"`
		}{}, `.l[]: schema type string`},
		{"nested", struct {
			A string   `json:"a"`
			N int      `json:"n"`
			L []string `json:"l,omitempty"`
			O struct {
				Y bool `json:"y,omitempty"`
			} `json:"o"`
		}{}, `.o: "x" is in the schema`},
	} {
		p := diff(c.name, doc, reflect.TypeOf(c.typ))
		if !strings.Contains(strings.Join(p, "\n"), c.want) {
			t.Errorf("%s: want a problem containing %q, got %q", c.name, c.want, p)
		}
	}
}

// TestEnums checks the enums the package lists against the schemas.
func TestEnums(t *testing.T) {
	var common struct {
		Defs map[string]any `json:"$defs"`
	}
	raw, err := schemas.Common()
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &common); err != nil {
		t.Fatal(err)
	}
	at := func(doc any, path ...string) []string {
		for _, p := range path {
			doc = doc.(map[string]any)[p]
		}
		var out []string
		for _, v := range doc.(map[string]any)["enum"].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	output := func(method string) any {
		m, err := schemas.Resolved(method)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := json.Unmarshal(m.Output, &doc); err != nil {
			t.Fatal(err)
		}
		return doc
	}
	for _, c := range []struct {
		name        string
		schema, go_ []string
	}{
		{"taskStatus", at(common.Defs, "taskStatus"), api.TaskStatuses},
		{"hookResult.decision", at(common.Defs, "hookResult", "properties", "decision"), api.HookDecisions},
		{"rule.action", at(common.Defs, "rule", "properties", "action"), api.RuleActions},
		{"listedRule.action", at(common.Defs, "listedRule", "properties", "action"), api.RuleActions},
		{"listedRule.source", at(common.Defs, "listedRule", "properties", "source"), api.RuleSources},
		{"instance.health", at(common.Defs, "instance", "properties", "health"), api.HealthStates},
		{"system.health status", at(output("system.health"), "properties", "status"), api.HealthStates},
		{"system.version redisMode", at(output("system.version"), "properties", "redisMode"), api.RedisModes},
	} {
		s, g := slices.Sorted(slices.Values(c.schema)), slices.Sorted(slices.Values(c.go_))
		if !slices.Equal(s, g) {
			t.Errorf("%s: schema enum %q, Go %q", c.name, s, g)
		}
	}
}

// object is an object schema with its allOf parts merged.
type object struct {
	props    map[string]any
	required map[string]bool
	declared bool // the schema names properties (possibly none)
}

func merge(o *object, s map[string]any) {
	if ps, ok := s["properties"].(map[string]any); ok {
		o.declared = true
		for k, v := range ps {
			o.props[k] = v
		}
	}
	if rs, ok := s["required"].([]any); ok {
		for _, r := range rs {
			o.required[r.(string)] = true
		}
	}
	if all, ok := s["allOf"].([]any); ok {
		for _, a := range all {
			if m, ok := a.(map[string]any); ok {
				merge(o, m)
			}
		}
	}
}

// jsonTypes are the JSON types a schema allows (nil: any), read from
// "type", "enum" and allOf; "null" is ignored.
func jsonTypes(s map[string]any) []string {
	var out []string
	switch ty := s["type"].(type) {
	case string:
		out = append(out, ty)
	case []any:
		for _, v := range ty {
			if v != "null" {
				out = append(out, v.(string))
			}
		}
	}
	if enum, ok := s["enum"].([]any); ok && len(out) == 0 {
		for _, v := range enum {
			switch v.(type) {
			case string:
				out = append(out, "string")
			case float64:
				out = append(out, "number")
			case bool:
				out = append(out, "boolean")
			}
		}
	}
	if all, ok := s["allOf"].([]any); ok && len(out) == 0 {
		for _, a := range all {
			if m, ok := a.(map[string]any); ok {
				out = append(out, jsonTypes(m)...)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

var (
	rawType  = reflect.TypeFor[json.RawMessage]()
	timeType = reflect.TypeFor[api.Time]()
)

// goType is the JSON type a Go type encodes as ("" for any JSON value).
func goType(t reflect.Type) string {
	switch {
	case t == rawType:
		return ""
	case t == timeType:
		return "string"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Interface:
		return ""
	}
	return t.Kind().String()
}

// diff lists where the Go type t disagrees with schema.
func diff(path string, schema any, t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	s, ok := schema.(map[string]any)
	if !ok {
		return nil // true: anything goes
	}
	want, got := jsonTypes(s), goType(t)
	switch {
	case got == "":
		// Any JSON value: fine for a schema that allows any value, or a
		// container the Go side does not look into.
		if len(want) > 0 && !slices.Contains(want, "object") && !slices.Contains(want, "array") {
			return []string{path + ": schema type " + strings.Join(want, "|") + ", Go " + t.String() + " (any JSON)"}
		}
		return nil
	case len(want) == 0:
		if got == "object" && t.Kind() == reflect.Struct && t.NumField() > 0 {
			break // compare the properties below
		}
		return []string{path + ": schema allows any value, Go " + t.String()}
	case !slices.Contains(want, got):
		return []string{path + ": schema type " + strings.Join(want, "|") + ", Go " + t.String()}
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		if items, ok := s["items"]; ok {
			return diff(path+"[]", items, t.Elem())
		}
	case reflect.Map:
		if ap, ok := s["additionalProperties"].(map[string]any); ok {
			return diff(path+"{}", ap, t.Elem())
		}
	case reflect.Struct:
		if t == timeType {
			return nil
		}
		return diffObject(path, s, t)
	}
	return nil
}

type goField struct {
	typ      reflect.Type
	required bool
}

// fields are the JSON properties of struct t, embedded structs flattened
// (a shallower field hides a deeper one of the same name).
func fields(t reflect.Type) map[string]goField {
	out := map[string]goField{}
	var embedded []reflect.StructField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() && !f.Anonymous {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			embedded = append(embedded, f)
			continue
		}
		if name == "" {
			name = f.Name
		}
		omit := strings.Contains(","+opts+",", ",omitempty,") || strings.Contains(","+opts+",", ",omitzero,")
		out[name] = goField{typ: f.Type, required: !omit && f.Tag.Get("schema") != "optional"}
	}
	for _, f := range embedded {
		for k, v := range fields(f.Type) {
			if _, ok := out[k]; !ok {
				out[k] = v
			}
		}
	}
	return out
}

func diffObject(path string, s map[string]any, t reflect.Type) []string {
	o := &object{props: map[string]any{}, required: map[string]bool{}}
	merge(o, s)
	fs := fields(t)
	var problems []string
	keys := make([]string, 0, len(o.props)+len(fs))
	for k := range o.props {
		keys = append(keys, k)
	}
	for k := range fs {
		if _, ok := o.props[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		sub, inSchema := o.props[k]
		f, inGo := fs[k]
		switch {
		case !inGo:
			problems = append(problems, path+": "+quote(k)+" is in the schema, not in "+t.String())
		case !inSchema:
			problems = append(problems, path+": "+quote(k)+" is in "+t.String()+", not in the schema")
		default:
			if o.required[k] && !f.required {
				problems = append(problems, path+": "+quote(k)+" is required but "+t.String()+" may leave it out (omitempty)")
			}
			if !o.required[k] && f.required {
				problems = append(problems, path+": "+quote(k)+" is always sent by "+t.String()+
					" but optional in the schema (omitempty, or tag schema:\"optional\")")
			}
			problems = append(problems, diff(path+"."+k, sub, f.typ)...)
		}
	}
	for k := range o.required {
		if _, ok := o.props[k]; !ok {
			if _, inGo := fs[k]; !inGo {
				problems = append(problems, path+": required "+quote(k)+" is not in "+t.String())
			}
		}
	}
	return problems
}

func quote(s string) string { return `"` + s + `"` }
