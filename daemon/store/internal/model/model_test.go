package model

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoadMigrations(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0010_later.sql": {Data: []byte("B")},
		"m/0002_first.sql": {Data: []byte("A")},
		"m/README.md":      {Data: []byte("ignored")},
	}
	migs, err := LoadMigrations(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	if len(migs) != 2 || migs[0].Version != 2 || migs[0].Name != "0002_first" || migs[0].SQL != "A" ||
		migs[1].Version != 10 || migs[1].SQL != "B" {
		t.Errorf("LoadMigrations = %+v", migs)
	}
	for name, bad := range map[string]fstest.MapFS{
		"duplicate": {"m/1_a.sql": {}, "m/0001_b.sql": {}},
		"no number": {"m/init.sql": {}},
		"zero":      {"m/0_init.sql": {}},
	} {
		if _, err := LoadMigrations(bad, "m"); err == nil {
			t.Errorf("%s: LoadMigrations succeeded, want an error", name)
		}
	}
}

func TestNormalizeTaskListOrderClause(t *testing.T) {
	for _, c := range []struct {
		p    TaskListParams
		want string
	}{
		{TaskListParams{}, "ORDER BY created_at DESC, length(id) DESC, id DESC"},
		{TaskListParams{OrderBy: "id", Order: "asc"}, "ORDER BY length(id) ASC, id ASC"},
		{TaskListParams{OrderBy: "priority", Order: "ASC"}, "ORDER BY priority ASC, length(id) ASC, id ASC"},
		{TaskListParams{OrderBy: "updatedAt"}, "ORDER BY updated_at DESC, length(id) DESC, id DESC"},
	} {
		q, err := NormalizeTaskList(c.p)
		if err != nil || q.OrderClause != c.want {
			t.Errorf("NormalizeTaskList(%+v) = %q, %v; want %q", c.p, q.OrderClause, err, c.want)
		}
	}
	q, _ := NormalizeTaskList(TaskListParams{Limit: 5000})
	if q.Limit != MaxTaskListLimit {
		t.Errorf("Limit 5000 normalized to %d, want %d", q.Limit, MaxTaskListLimit)
	}
	_, err := NormalizeTaskList(TaskListParams{OrderBy: "id DESC; --"})
	if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "orderBy") {
		t.Errorf("bad OrderBy error = %v", err)
	}
}
