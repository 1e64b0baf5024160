package target

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/chansync/chansync/internal/dbsqlc"
)

// Registry holds the enabled targets and their kinds. Everything that
// handles records of more than one kind iterates it.
type Registry struct {
	targets []*Target
	kinds   []*Kind
	byName  map[string]*Kind
	byTgt   map[Name]*Target
}

// NewRegistry checks the targets' descriptions and returns their registry
// (a target may come without a Client in a registry that only describes,
// for commands that enqueue and report but never push):
// kind names unique across targets, dependencies naming kinds of the same
// target, no cycles, every kind with its functions. Kinds are ordered by
// tier (dependencies first), then by target and declaration order. The
// registry holds copies of the targets and kinds it is given.
func NewRegistry(targets ...*Target) (*Registry, error) {
	r := &Registry{byName: map[string]*Kind{}, byTgt: map[Name]*Target{}}
	for _, given := range targets {
		if given == nil {
			continue
		}
		t := new(Target)
		*t = *given
		t.Kinds = make([]*Kind, len(given.Kinds))
		for i, k := range given.Kinds {
			cp := *k
			t.Kinds[i] = &cp
		}
		if t.Name == "" {
			return nil, errors.New("target registry: a target has no name")
		}
		if _, dup := r.byTgt[t.Name]; dup {
			return nil, fmt.Errorf("target registry: target %s registered twice", t.Name)
		}
		r.byTgt[t.Name] = t
		r.targets = append(r.targets, t)
		for _, k := range t.Kinds {
			if err := k.check(t.Name); err != nil {
				return nil, err
			}
			if prev, dup := r.byName[k.Name]; dup {
				return nil, fmt.Errorf("target registry: kind %q of %s is also a kind of %s", k.Name, t.Name, prev.Target)
			}
			r.byName[k.Name] = k
			r.kinds = append(r.kinds, k)
		}
	}
	for _, k := range r.kinds {
		tier, err := r.tierOf(k, nil)
		if err != nil {
			return nil, err
		}
		k.tier = tier
	}
	slices.SortStableFunc(r.kinds, func(a, b *Kind) int { return a.tier - b.tier })
	return r, nil
}

func (k *Kind) check(t Name) error {
	switch {
	case k.Target != t:
		return fmt.Errorf("target registry: kind %q is listed by %s but names target %q", k.Name, t, k.Target)
	case k.Name == "" || k.Plural == "" || k.IDField == "" || k.Source == "":
		return fmt.Errorf("target registry: kind %q of %s lacks a name, plural, id field or source", k.Name, t)
	case k.Load == nil || k.Page == nil || k.VersionsSQL == "":
		return fmt.Errorf("target registry: kind %s lacks Load, Page or VersionsSQL", k)
	case len(k.Affected) == 0:
		return fmt.Errorf("target registry: kind %s is affected by no source", k)
	}
	return nil
}

func (r *Registry) tierOf(k *Kind, path []string) (int, error) {
	if slices.Contains(path, k.Name) {
		return 0, fmt.Errorf("target registry: dependency cycle %s -> %s", strings.Join(path, " -> "), k.Name)
	}
	tier := 0
	for _, dep := range k.DependsOn {
		d, ok := r.byName[dep]
		if !ok || d.Target != k.Target {
			return 0, fmt.Errorf("target registry: kind %s depends on %q, which is not a kind of %s", k, dep, k.Target)
		}
		t, err := r.tierOf(d, append(path, k.Name))
		if err != nil {
			return 0, err
		}
		tier = max(tier, t+1)
	}
	return tier, nil
}

// Targets returns the enabled targets, in registration order.
func (r *Registry) Targets() []*Target { return r.targets }

// Kinds returns every kind of every enabled target, dependencies first.
func (r *Registry) Kinds() []*Kind { return r.kinds }

// Target returns the enabled target named name; the error names the
// enabled ones.
func (r *Registry) Target(name Name) (*Target, error) {
	if t, ok := r.byTgt[name]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("unknown or disabled target %q: want one of %s", name, strings.Join(r.TargetNames(), ", "))
}

// TargetNames names the enabled targets.
func (r *Registry) TargetNames() []string {
	out := make([]string, len(r.targets))
	for i, t := range r.targets {
		out[i] = string(t.Name)
	}
	return out
}

// Kind returns the kind named name; the error names the known kinds.
func (r *Registry) Kind(name string) (*Kind, error) {
	if k, ok := r.byName[strings.ToLower(strings.TrimSpace(name))]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("unknown kind %q: want one of %s", name, strings.Join(r.KindNames(), ", "))
}

// KindNames names every kind, dependencies first.
func (r *Registry) KindNames() []string {
	out := make([]string, len(r.kinds))
	for i, k := range r.kinds {
		out[i] = k.Name
	}
	return out
}

// Select returns the kinds a command line's --target and --kind select:
// every kind when both are empty, the target's kinds, or the one kind
// (which must belong to the target when both are given).
func (r *Registry) Select(targetName, kindName string) ([]*Kind, error) {
	var t *Target
	if targetName != "" {
		var err error
		if t, err = r.Target(Name(targetName)); err != nil {
			return nil, err
		}
	}
	if kindName != "" {
		k, err := r.Kind(kindName)
		if err != nil {
			return nil, err
		}
		if t != nil && k.Target != t.Name {
			return nil, fmt.Errorf("kind %q is a kind of %s, not of %s", k.Name, k.Target, t.Name)
		}
		return []*Kind{k}, nil
	}
	var out []*Kind
	for _, k := range r.kinds {
		if t == nil || k.Target == t.Name {
			out = append(out, k)
		}
	}
	return out, nil
}

// BySource returns the kinds whose records carry the ids of source, in
// dependency order.
func (r *Registry) BySource(source string) []*Kind {
	var out []*Kind
	for _, k := range r.kinds {
		if k.Source == source {
			out = append(out, k)
		}
	}
	return out
}

// Affected returns the records of every enabled kind that a change of the
// named records of source may change, kinds in dependency order.
func (r *Registry) Affected(ctx context.Context, db dbsqlc.DBTX, source string, ids []string) ([]Ref, error) {
	var out []Ref
	for _, k := range r.kinds {
		f, ok := k.Affected[source]
		if !ok {
			continue
		}
		got, err := f(ctx, db, ids)
		if err != nil {
			return nil, fmt.Errorf("records of %s affected by %s changes: %w", k, source, err)
		}
		for _, id := range got {
			out = append(out, k.Ref(id))
		}
	}
	return out, nil
}

// Dependants returns the kinds that depend on k.
func (r *Registry) Dependants(k *Kind) []*Kind {
	var out []*Kind
	for _, d := range r.kinds {
		if d.Target == k.Target && slices.Contains(d.DependsOn, k.Name) {
			out = append(out, d)
		}
	}
	return out
}
