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

func TestNormalizeTaskList(t *testing.T) {
	for _, c := range []struct {
		p       TaskListParams
		orderBy string
		desc    bool
	}{
		{TaskListParams{}, "createdAt", true},
		{TaskListParams{OrderBy: "id", Order: "asc"}, "id", false},
		// Desc is over -priority: priority ascending reads it descending.
		{TaskListParams{OrderBy: "priority", Order: "ASC"}, "priority", true},
		{TaskListParams{OrderBy: "priority"}, "priority", false},
		{TaskListParams{OrderBy: "queue"}, "queue", false},
		{TaskListParams{OrderBy: "queue", Order: "desc"}, "queue", true},
	} {
		q, err := NormalizeTaskList(c.p)
		if err != nil || q.OrderBy != c.orderBy || q.Desc != c.desc {
			t.Errorf("NormalizeTaskList(%+v) = %s desc %v, %v; want %s desc %v", c.p, q.OrderBy, q.Desc, err, c.orderBy, c.desc)
		}
	}
	q, _ := NormalizeTaskList(TaskListParams{Limit: 5000})
	if q.Limit != MaxTaskListLimit {
		t.Errorf("Limit 5000 normalized to %d, want %d", q.Limit, MaxTaskListLimit)
	}
	for _, bad := range []struct {
		p    TaskListParams
		want string
	}{
		{TaskListParams{OrderBy: "id DESC; --"}, "orderBy"},
		{TaskListParams{UpdatedBefore: "yesterday"}, "updatedBefore"},
		{TaskListParams{After: "!!"}, "cursor"},
		{TaskListParams{After: Cursor{Order: "id"}.Encode()}, "cursor"},
		{TaskListParams{Offset: 3, After: Cursor{Order: "createdAt", ID: "t-1"}.Encode()}, "offset and after"},
	} {
		_, err := NormalizeTaskList(bad.p)
		if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("NormalizeTaskList(%+v) error = %v, want ErrInvalidArgument mentioning %q", bad.p, err, bad.want)
		}
	}
}
