package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// errNoBefore says that no previous results are asked for or found.
var errNoBefore = errors.New("no previous results")

// loadBefore reads the previous run's results, to show beside the new
// ones: the file spec names, or (spec empty) the committed results.json
// beside out, read with `git show HEAD:` so that a run that overwrote the
// file still compares with the committed one. "none" turns the comparison
// off. A --quick run's results are never compared with. It returns the
// results and where they came from.
func loadBefore(spec, out string) (*results, string, error) {
	var (
		data []byte
		from string
		err  error
	)
	switch spec {
	case "none":
		return nil, "", errNoBefore
	case "":
		dir := filepath.Dir(out)
		from = filepath.Join(dir, "results.json") + " at HEAD"
		data, err = exec.Command("git", "-C", dir, "show", "HEAD:./results.json").Output()
	default:
		from = spec
		data, err = os.ReadFile(spec)
	}
	if err != nil {
		return nil, "", fmt.Errorf("read %s: %w", from, err)
	}
	var prev results
	if err := json.Unmarshal(data, &prev); err != nil {
		return nil, "", fmt.Errorf("parse %s: %w", from, err)
	}
	if prev.Quick {
		return nil, "", fmt.Errorf("%s is a --quick run's: %w", from, errNoBefore)
	}
	return &prev, fmt.Sprintf("%s (commit %s, %s)", from, prev.Header.Commit, prev.Header.Date), nil
}

// prevRun returns the previous results' run of the same setting (size,
// latency, concurrency, workers, targets), or nil.
func (r *results) prevRun(run *syncRun) *syncRun {
	if r.before == nil {
		return nil
	}
	for _, list := range [][]*syncRun{r.before.Throughput, r.before.Targets, r.before.Scale} {
		for _, p := range list {
			if p.key() == run.key() {
				return p
			}
		}
	}
	return nil
}

// prevRelay returns the previous results' relay run of the same setting,
// or nil.
func (r *results) prevRelay(run *relayResult) *relayResult {
	if r.before == nil {
		return nil
	}
	for _, p := range r.before.Relay {
		if p.key() == run.key() {
			return p
		}
	}
	return nil
}
